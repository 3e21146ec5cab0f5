"""Works, then answers a method call with the id of the request before it (out of order)."""
import fake


def stale(request, n):
    fake.log("answering request %d with id %d on purpose" % (request["id"], request["id"] - 1))
    return {"id": request["id"] - 1, "unsupported": "an answer to the previous request"}


fake.serve(stale)
