"""A realistic insurer's feed (SPEC §5) of any size, the same bytes for the same seed.

Households of one to five people: the head holds every policy of the household
and insures themselves, a spouse, children or parents; heads have one or two
phones written the ways insurers' exports write them, and some family members
have phones of their own. Policies are mostly of the programme's products
(full- and half-width spellings mixed), some of other products; most are in
force, some lapsed or surrendered; many have a few dated endorsements or status
changes. Some insured people have recorded uses of services.

Dates are fixed (no "today"), so a feed is reproducible from its parameters:

    python -m benchmarks.feedgen --people 100000 --policies 250000 --out feed.json
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from datetime import date, timedelta
from pathlib import Path

import flows
from benchmarks.common import out_dir

# Sums insured in the feed: common amounts sold, in CNY.
SUMS = (100_000, 150_000, 200_000, 250_000, 300_000, 400_000, 500_000, 600_000, 1_000_000)
SUM_WEIGHTS = (12, 8, 20, 6, 22, 10, 10, 7, 5)
# Products outside the programme that the same customers hold.
OTHER_PRODUCTS = ("国宝人寿安康医疗保险", "国宝人寿福满堂年金保险", "国宝人寿意外伤害保险")
STATUS_WEIGHTS = {"in_force": 86, "lapsed": 5, "surrendered": 4, "suspended": 3, "terminated": 2}
# Events per policy: most have none or one, a few have several.
EVENT_COUNTS = (0, 1, 2, 3, 4, 6)
EVENT_WEIGHTS = (40, 30, 15, 9, 4, 2)
HOUSEHOLD_SIZES = (1, 2, 3, 4, 5)
HOUSEHOLD_WEIGHTS = (30, 30, 25, 10, 5)
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"  # noqa: E501
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏辉建国志文斌宇浩凯健俊帆帅旭宁龙林欣悦晨瑶婷雪琳佳怡子涵梓轩诗雨思博"  # noqa: E501
MINORITY = ("阿依古丽·买买提", "艾力·吐尔逊", "扎西·多吉", "米娜瓦尔·艾则孜")
MOBILE_PREFIXES = tuple(
    str(prefix)
    for prefix in (
        *range(130, 140),
        *(150, 151, 152, 153, 155, 156, 157, 158, 159, 166, 177),
        *range(180, 190),
        *(191, 198, 199),
    )
)
CITY_CODES = ("010", "021", "028", "023", "020", "0755", "027", "029")
FIRST_DAY = date(2017, 1, 1)
LAST_DAY = date(2026, 6, 30)
SERVICES_USED = (
    "outpatient_booking",
    "escort",
    "rehab_followup",
    "inpatient_fast_track",
    "nursing_carer",
    "second_opinion",
)


class Generator:
    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        programme = flows.load().programme
        # The programme's names as the manual prints them, in a fixed order.
        self.products = sorted(programme.products)
        self.spellings = {
            name: (name, name.replace("(", "（").replace(")", "）")) for name in self.products
        }
        self.numbers: set[str] = set()

    def day(self, start: date = FIRST_DAY, end: date = LAST_DAY) -> date:
        return start + timedelta(days=self.rng.randrange((end - start).days + 1))

    def name(self) -> str:
        if self.rng.random() < 0.005:
            return self.rng.choice(MINORITY)
        given = "".join(self.rng.choice(GIVEN) for _ in range(self.rng.choice((1, 2, 2))))
        return self.rng.choice(SURNAMES) + given

    def phone(self) -> str:
        rng = self.rng
        while True:
            if rng.random() < 0.08:
                city = rng.choice(CITY_CODES)
                local = f"{rng.randrange(2, 10)}{rng.randrange(10**6, 10**7):07d}"
                raw = f"{city}-{local[:4]}-{local[4:]}"
                key = city + local
            else:
                prefix = rng.choice(MOBILE_PREFIXES)
                rest = f"{rng.randrange(10**8):08d}"
                key = prefix + rest
                style = rng.randrange(5)
                raw = (
                    f"+86{key}",
                    key,
                    f"{prefix} {rest[:4]} {rest[4:]}",
                    f"{prefix}-{rest[:4]}-{rest[4:]}",
                    f"+86 {prefix} {rest[:4]} {rest[4:]}",
                )[style]
            if key not in self.numbers:
                self.numbers.add(key)
                return raw

    def product(self) -> str:
        if self.rng.random() < 0.05:
            return self.rng.choice(OTHER_PRODUCTS)
        return self.rng.choice(self.spellings[self.rng.choice(self.products)])

    def events(self, issued: date, sum_insured: int) -> list[dict]:
        rng = self.rng
        count = rng.choices(EVENT_COUNTS, EVENT_WEIGHTS)[0]
        day, amount, out = issued, sum_insured, []
        for _ in range(count):
            day = min(LAST_DAY, day + timedelta(days=rng.randrange(20, 700)))
            kind = rng.random()
            if kind < 0.55:  # 加保 / 减保
                amount = max(50_000, amount + rng.choice((-100_000, -50_000, 50_000, 100_000)))
                out.append({"date": day.isoformat(), "sum_insured": amount})
            elif kind < 0.75:  # 中止 then 复效
                out.append({"date": day.isoformat(), "status": "suspended"})
                day = min(LAST_DAY, day + timedelta(days=rng.randrange(10, 200)))
                out.append({"date": day.isoformat(), "status": "in_force"})
            elif kind < 0.85:
                out.append(
                    {"date": day.isoformat(), "status": rng.choice(("lapsed", "surrendered"))}
                )
            else:  # an endorsement that changes both
                amount += 100_000
                out.append({"date": day.isoformat(), "sum_insured": amount, "status": "in_force"})
        return out


def _people(gen: Generator, households: list[list[str]], people: int):
    """People records, one household at a time, until ``people`` ids are given out."""
    rng = gen.rng
    index = 0
    while index < people:
        size = min(rng.choices(HOUSEHOLD_SIZES, HOUSEHOLD_WEIGHTS)[0], people - index)
        members = [f"P{index + i:08d}" for i in range(size)]
        households.append(members)
        for position, person_id in enumerate(members):
            if position == 0:
                phones = [gen.phone() for _ in range(rng.choice((1, 1, 1, 2)))]
            elif rng.random() < 0.4:
                phones = [gen.phone()]
            else:
                phones = []  # children and elderly parents often have none on file
            yield {"id": person_id, "name": gen.name(), "phones": phones}
        index += size


def _policies(gen: Generator, households: list[list[str]], policies: int):
    rng = gen.rng
    for number in range(policies):
        # Every household gets its policies in turn first, then the rest at random,
        # so that (with enough policies) every head is insured at least once.
        if number < len(households):
            members = households[number]
            insured = members[0]
        else:
            members = rng.choice(households)
            insured = rng.choice(members)
        issued = gen.day(FIRST_DAY, LAST_DAY - timedelta(days=30))
        sum_insured = rng.choices(SUMS, SUM_WEIGHTS)[0]
        status = rng.choices(tuple(STATUS_WEIGHTS), tuple(STATUS_WEIGHTS.values()))[0]
        yield {
            "policy_no": f"GB{number:09d}",
            "product": gen.product(),
            "holder_id": members[0],
            "insured_id": insured,
            "sum_insured": sum_insured,
            "cooling_off_end": (issued + timedelta(days=15)).isoformat(),
            "status": status,
            "events": gen.events(issued, sum_insured),
        }


def _usage(gen: Generator, households: list[list[str]]):
    rng = gen.rng
    for members in households:
        for person_id in members:
            if rng.random() < 0.12:
                for _ in range(rng.randrange(1, 4)):
                    service = rng.choice(SERVICES_USED)
                    yield {
                        "insured_id": person_id,
                        "service": service,
                        "date": gen.day(date(2024, 1, 1)).isoformat(),
                        "count": rng.randrange(1, 4) if service == "nursing_carer" else 1,
                    }


def _write_array(handle, items) -> int:
    count = 0
    for item in items:
        handle.write(",\n" if count else "\n")
        handle.write(json.dumps(item, ensure_ascii=False, separators=(",", ":")))
        count += 1
    handle.write("\n]")
    return count


def generate(path: Path, people: int, policies: int, seed: int = 1) -> dict[str, int]:
    """Write the feed to ``path`` (streamed: memory grows with people, not policies)."""
    if people < 1 or policies < 0:
        raise ValueError("at least one person, and no negative number of policies")
    gen = Generator(seed)
    households: list[list[str]] = []
    partial = path.with_name(path.name + ".partial")
    with open(partial, "w", encoding="utf-8") as handle:
        handle.write('{"people": [')
        written_people = _write_array(handle, _people(gen, households, people))
        handle.write(',\n"policies": [')
        written_policies = _write_array(handle, _policies(gen, households, policies))
        handle.write(',\n"usage": [')
        written_usage = _write_array(handle, _usage(gen, households))
        handle.write("}\n")
    partial.replace(path)  # a half-written feed is never mistaken for a whole one
    return {"people": written_people, "policies": written_policies, "usage": written_usage}


def feed_path(people: int, policies: int, seed: int) -> Path:
    return out_dir() / f"feed-{people}p-{policies}pol-s{seed}.json"


def ensure_feed(people: int, policies: int, seed: int = 1) -> Path:
    """The feed for these parameters, generated once and then reused (it is deterministic)."""
    path = feed_path(people, policies, seed)
    if not path.exists():
        print(f"generating {path.name} …", file=sys.stderr, flush=True)
        generate(path, people, policies, seed)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--policies", type=int, help="default: 2.5 per person")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, help="default: benchmarks/out/feed-….json")
    args = parser.parse_args(argv)
    policies = args.policies if args.policies is not None else int(args.people * 2.5)
    path = args.out or feed_path(args.people, policies, args.seed)
    counts = generate(path, args.people, policies, args.seed)
    print(
        f"{path}: {counts['people']} people, {counts['policies']} policies, "
        f"{counts['usage']} usage rows, {path.stat().st_size / 2**20:.1f} MiB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
