"""Engine replies and the fixed documents of the queue, as TwiML (``VoiceResponse`` only).

URLs are given by the modules that build the documents (root-relative: Twilio
resolves them against the URL it requested, which is the public one even behind
a proxy).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from twilio.twiml.voice_response import Dial, Gather, VoiceResponse

from flows.call_flow import Voice
from ivr import replies


def _say(target, voice: Voice, text: str) -> None:
    target.say(text, voice=voice.voice, language=voice.language)


def _prompts(target, voice: Voice, prompts: Iterable[replies.Prompt]) -> None:
    for prompt in prompts:
        if isinstance(prompt, replies.Say):
            _say(target, voice, prompt.text)
        else:
            target.play(prompt.url)


def gather(voice: Voice, wait: replies.Gather, action: str) -> Gather:
    """A Gather whose answer tells silence from a wrong key (SPEC §8).

    Every key pressed reaches ``action`` in ``Digits``: no key ends the Gather
    unsent (finishOnKey is off; Twilio's default # would send a lone # as no
    answer at all), so # is a wrong key like any other. An answer with neither
    Digits nor SpeechResult is then silence: Twilio posts it (actionOnEmptyResult),
    as the Redirect after the Gather would.
    """
    attributes = dict(
        input="dtmf speech" if wait.speech else "dtmf",
        action=action,
        method="POST",
        timeout=voice.timeout,
        num_digits=wait.num_digits,
        finish_on_key="",
        action_on_empty_result=True,
    )
    if wait.speech:
        attributes.update(language=voice.speech_language, speech_timeout=voice.speech_timeout)
        if wait.hints:
            attributes["hints"] = ",".join(dict.fromkeys(wait.hints))
    return Gather(**attributes)


# The same documents come back call after call (the greeting, the menus, the hold
# music at a given place in the queue: the prompts, the step in the action URL):
# building one with ``VoiceResponse`` and serialising it was about a tenth of a
# webhook's CPU. Kept by what they are made of (prompts hold masked names only),
# a bounded number per process.
DOCUMENTS_KEPT = 2048


def render(
    reply: replies.Reply, voice: Voice, action: str, wait_url: str = "", done_url: str = ""
) -> str:
    """The TwiML for one engine turn.

    ``action`` receives the caller's answer to a Gather (and, through the Redirect
    after it, the silence if Twilio falls through); ``wait_url`` and ``done_url``
    are the Enqueue's waitUrl and action.
    """
    return _render(tuple(reply.prompts), reply.wait, voice, action, wait_url, done_url)


@lru_cache(maxsize=DOCUMENTS_KEPT)
def _render(
    prompts: tuple[replies.Prompt, ...],
    wait: replies.Wait,
    voice: Voice,
    action: str,
    wait_url: str,
    done_url: str,
) -> str:
    response = VoiceResponse()
    if isinstance(wait, replies.Gather):
        element = gather(voice, wait, action)
        _prompts(element, voice, prompts)
        response.append(element)
        response.redirect(action, method="POST")
    elif isinstance(wait, replies.Enqueue):
        _prompts(response, voice, prompts)
        response.enqueue(
            wait.queue,
            wait_url=wait_url,
            wait_url_method="POST",
            action=done_url,
            method="POST",
        )
    else:
        _prompts(response, voice, prompts)
        response.hangup()
    return str(response)


def say_then(voice: Voice, texts: Iterable[str], hangup: bool = True) -> str:
    response = VoiceResponse()
    for text in texts:
        _say(response, voice, text)
    if hangup:
        response.hangup()
    return str(response)


def enqueue(voice: Voice, texts: Iterable[str], queue: str, wait_url: str, done_url: str) -> str:
    response = VoiceResponse()
    for text in texts:
        _say(response, voice, text)
    response.enqueue(
        queue, wait_url=wait_url, wait_url_method="POST", action=done_url, method="POST"
    )
    return str(response)


def hold(
    voice: Voice,
    texts: Iterable[str],
    leave_text: str | None = None,
    key_url: str | None = None,
) -> str:
    """A waitUrl document: announcements, then hold music the caller may interrupt to leave."""
    return _hold(voice, tuple(texts), leave_text, key_url)


@lru_cache(maxsize=DOCUMENTS_KEPT)
def _hold(voice: Voice, texts: tuple[str, ...], leave_text: str | None, key_url: str | None) -> str:
    response = VoiceResponse()
    for text in texts:
        _say(response, voice, text)
    if leave_text and key_url:
        element = Gather(input="dtmf", num_digits=1, action=key_url, method="POST", timeout=1)
        _say(element, voice, leave_text)
        element.play(voice.hold_music)
        response.append(element)
    else:
        response.play(voice.hold_music)
    return str(response)


def leave() -> str:
    response = VoiceResponse()
    response.leave()
    return str(response)


def redirect(url: str) -> str:
    response = VoiceResponse()
    response.redirect(url, method="POST")
    return str(response)


def dial_queue(queue: str, url: str) -> str:
    response = VoiceResponse()
    dial = Dial()
    dial.queue(queue, url=url, method="POST")
    response.append(dial)
    return str(response)


def dial_client(
    voice: Voice,
    texts: Iterable[str],
    identity: str,
    timeout: int,
    action: str,
    answered_url: str,
) -> str:
    """Ring one agent's browser phone (Twilio Client ``identity``) for ``timeout`` seconds.

    ``answered_url`` runs on the agent's leg when they pick up; ``action`` gets the
    outcome (DialCallStatus) once the dial is over, on the caller's leg.
    """
    response = VoiceResponse()
    for text in texts:
        _say(response, voice, text)
    dial = Dial(action=action, method="POST", timeout=timeout)
    dial.client(identity, url=answered_url, method="POST")
    response.append(dial)
    return str(response)


def empty() -> str:
    """Nothing to do: the call goes on as it was (a whisper that says nothing)."""
    return str(VoiceResponse())


def hangup() -> str:
    response = VoiceResponse()
    response.hangup()
    return str(response)


def gather_key(voice: Voice, text: str, action: str, repeat_url: str) -> str:
    """One key to confirm, said once; silence goes to ``repeat_url``."""
    response = VoiceResponse()
    element = Gather(
        input="dtmf", num_digits=1, action=action, method="POST", timeout=voice.timeout
    )
    _say(element, voice, text)
    response.append(element)
    response.redirect(repeat_url, method="POST")
    return str(response)
