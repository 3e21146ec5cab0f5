"""Says hello in a protocol version poolcheck does not speak, then waits for stdin to close."""
import sys

import fake

fake.log("about to say hello in the wrong protocol")
fake.hello(protocol="poolcheck-adapter/0")
sys.stdin.read()
