"""Works, then prints something that is not a response line instead of answering a method."""
import sys

import fake


def garbage(request, n):
    fake.log("printing garbage on purpose")
    sys.stdout.write("Traceback? no: this is not JSON\n")
    sys.stdout.flush()
    return {"unsupported": "too late: the line before this one was garbage"}


fake.serve(garbage)
