"""Works, but its backend fails every method call: it answers with an `error` message."""
import fake


def fail(request, n):
    fake.log("the backend is down")
    return {"error": "backend unavailable: connection refused"}


fake.serve(fail)
