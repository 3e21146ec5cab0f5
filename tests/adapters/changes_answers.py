"""Answers the optional `changes` request the way its argument says (tests/adapter.rs):

  not-offered   offers nothing, and exits with status 3 if it is sent `changes` anyway
  unsupported   offers `changes`, then answers it `unsupported`
  null          offers `changes`, then answers `{"ok": null}`
  error         offers `changes`, then answers with an `error`
  report        offers `changes`, then reports one removed path and nothing changed
  bad-shape     offers `changes`, then answers with a result that is not a change report
"""
import sys

import fake

MODE = sys.argv[1]

ANSWERS = {
    "unsupported": {"unsupported": "change tracking is switched off"},
    "null": {"ok": None},
    "error": {"error": "the change journal is unavailable"},
    "report": {"ok": {"changed": [], "removed": ["gone"]}},
    "bad-shape": {"ok": {"changed": 5}},
}


def on_other(request):
    if request["op"] != "changes":
        return None
    if MODE == "not-offered":
        fake.log("was sent changes although its hello did not offer it")
        sys.exit(3)
    return ANSWERS[MODE]


fake.serve(on_other=on_other, features=() if MODE == "not-offered" else ("changes",))
