"""What the checker tests of every notebook's exercises share."""


def passes(q, answer):
    """True when exercise ``q`` accepts ``answer``."""
    return q.evaluate(answer)[0]


def message(q, answer):
    """The checker's message for a wrong ``answer`` (fails the test if it was accepted)."""
    ok, msg = q.evaluate(answer)
    assert not ok, f"{q.key} accepted a wrong answer {answer!r}"
    return msg
