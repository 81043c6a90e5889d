import asyncio
import contextvars
import threading
import time

import pytest

from catalog.offload import in_thread

request_id = contextvars.ContextVar("request_id", default=None)


def test_the_call_runs_on_another_thread_with_its_arguments_and_the_callers_context():
    def call(a, *, b):
        return a + b, threading.current_thread() is not threading.main_thread(), request_id.get()

    async def main():
        request_id.set("r-1")
        return await in_thread(call, 1, b=2)

    assert asyncio.run(main()) == (3, True, "r-1")


def test_an_exception_reaches_the_caller():
    def fail():
        raise ValueError("bad field 'depth'")

    with pytest.raises(ValueError, match="bad field 'depth'"):
        asyncio.run(in_thread(fail))


def test_a_cancelled_caller_stops_waiting_and_the_call_still_runs_to_its_end():
    finished = threading.Event()

    def slow():
        time.sleep(0.5)
        finished.set()

    async def main():
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.05):
                await in_thread(slow)
        return finished.is_set()

    assert asyncio.run(main()) is False  # the caller was back before the call ended
    assert finished.wait(5)
