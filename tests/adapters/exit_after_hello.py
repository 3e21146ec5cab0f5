"""Says hello, then exits at once, before the first reset."""
import fake

fake.hello()
fake.log("leaving right after the hello")
