"""What the checker tests of every notebook's exercises share: one way to ask a checker.

- ``passes(q, answer)``: True when exercise ``q`` accepts ``answer`` (use ``assert passes(...)``
  or ``assert not passes(...)``);
- ``message(q, answer)``: the message for a refused ``answer`` (fails the test if it was accepted);
- ``fails(q, answer, *words)``: ``message``, and each of ``words`` must be in it (any case).
"""


def passes(q, answer):
    """True when exercise ``q`` accepts ``answer``; prints the refusal, shown when a test fails."""
    ok, msg = q.evaluate(answer)
    if not ok:
        print(f"{q.key} refused {answer!r:.80}: {msg}")
    return ok


def message(q, answer):
    """The checker's message for a wrong ``answer`` (fails the test if it was accepted)."""
    ok, msg = q.evaluate(answer)
    assert not ok, f"{q.key} accepted a wrong answer {answer!r}"
    return msg


def fails(q, answer, *words):
    """The message for a wrong ``answer``, which must contain each of ``words`` (case-insensitive)."""
    msg = message(q, answer)
    for word in words:
        assert word.lower() in msg.lower(), f"{word!r} not in {msg!r}"
    return msg
