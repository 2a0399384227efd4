"""The benchmarks' feed generator: the same feed for the same seed, and one that imports."""

from __future__ import annotations

from benchmarks import feedgen


def test_the_same_seed_gives_the_same_feed_byte_for_byte(tmp_path):
    first, second, other = tmp_path / "a.json", tmp_path / "b.json", tmp_path / "c.json"
    feedgen.generate(first, people=200, policies=500, seed=7)
    feedgen.generate(second, people=200, policies=500, seed=7)
    feedgen.generate(other, people=200, policies=500, seed=8)
    assert first.read_bytes() == second.read_bytes()
    assert first.read_bytes() != other.read_bytes()


def test_a_generated_feed_is_accepted_whole_by_hotline_import(runner, tmp_path):
    path = tmp_path / "feed.json"
    counts = feedgen.generate(path, people=300, policies=750, seed=3)
    result = runner.invoke(args=["import", str(path)])
    assert result.exit_code == 0, result.output
    assert "people:   300 in feed: 300 new" in result.output
    assert "policies: 750 in feed: 750 new" in result.output
    assert f"usage:    {counts['usage']} records" in result.output
    # Some policies are of other products, as in a real insurer's export.
    assert "products not in the programme" in result.output
