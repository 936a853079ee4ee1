"""Named points in generate and swap where a test can stop the process dead, as a crash or SIGKILL would.

``BBWS_GEN_FAULT=<step>`` kills the process (SIGKILL: no cleanup, no ``finally``) the first time it
reaches that step; ``BBWS_GEN_FAULT_TRACE=<file>`` appends the name of every step reached to a file, so a
test can list them all from one clean run and then crash at each in turn. Both are off unless set.
"""

from __future__ import annotations

import os
import signal

FAULT_ENV = "BBWS_GEN_FAULT"
TRACE_ENV = "BBWS_GEN_FAULT_TRACE"


def point(step: str) -> None:
    """Mark ``step`` as reached: record it when tracing, die here when it is the injected fault."""
    trace = os.environ.get(TRACE_ENV)
    if trace:
        with open(trace, "a", encoding="utf-8") as handle:
            handle.write(step + "\n")
    if os.environ.get(FAULT_ENV) == step:
        os.kill(os.getpid(), signal.SIGKILL)
