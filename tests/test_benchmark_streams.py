"""The benchmarks' reader of agents' event streams parses them as EventSource does."""

from __future__ import annotations

from agent_assist import push
from benchmarks.streams import Event, EventParser


def parse(text: str) -> list[Event]:
    parser = EventParser()
    events = [parser.feed(line) for line in text.splitlines(keepends=True)]
    return [event for event in events if event is not None]


def test_the_server_s_own_messages_come_back_as_events_with_their_ids():
    text = (
        "retry: 3000\n\n"
        + push.message("status", {"status": "available"})
        + push.comment("heartbeat")
        + push.message("screen_pop", {"call_sid": "CA1", "name": "张*明"}, "1700000000000-0")
    )
    events = parse(text)
    assert [e.event for e in events] == ["status", "screen_pop"]
    assert events[1].data == '{"call_sid":"CA1","name":"张*明"}'
    assert events[1].id == "1700000000000-0"


def test_data_lines_join_and_crlf_endings_are_accepted():
    events = parse("event: note\r\ndata: one\r\ndata:two\r\n\r\ndata: plain\n\n")
    assert events == [Event("note", "one\ntwo"), Event("message", "plain")]
