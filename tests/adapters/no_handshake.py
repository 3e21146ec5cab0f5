"""Never says hello: it logs its pid and sleeps (poolcheck's startup timeout must fire)."""
import os
import time

import fake

fake.log("pid=%d" % os.getpid())
fake.log("not saying hello")
while True:
    time.sleep(3600)
