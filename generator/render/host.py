"""A render host: a process forked before the definition is validated, so Copier's import (about a quarter
of a second) runs on another CPU while this process validates.

The host imports Copier, then waits for one :class:`~generator.render.staging.RenderJob`, renders it with
:func:`~generator.render.staging.render_trees` (its workers fork from the host, Copier already imported)
and sends back the :class:`~generator.render.staging.Rendered` result. It exits after one job, when this
process closes the pipe (a definition that did not validate), or when it is terminated. On one CPU, or
where ``fork`` does not exist, no host starts and the trees render in this process, as before.
"""

from __future__ import annotations

import multiprocessing
import os
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import TYPE_CHECKING

from generator.errors import GenerateError
from generator.render.workers import die_with_parent, worker_count

if TYPE_CHECKING:  # imported by the host itself, after the fork: this module is imported first, so stays light
    from generator.render.staging import Rendered, RenderJob


@dataclass(frozen=True)
class _Failed:
    """A :class:`GenerateError` raised in the host, carried back as data."""

    message: str
    details: tuple[str, ...]


def _serve(connection: Connection, parent_end: Connection, parent: int) -> None:
    """The host's life: import Copier, render one job, send the outcome."""
    parent_end.close()  # else the host keeps its own pipe open and never sees this process go away
    die_with_parent(parent)
    try:
        import copier  # noqa: F401  # the point of the host: imported while the parent validates

        from generator.render.staging import render_trees

        job = connection.recv()
        try:
            outcome: Rendered | _Failed = render_trees(job)
        except GenerateError as exc:
            outcome = _Failed(str(exc), tuple(exc.details))
        except Exception as exc:  # e.g. a full disk while writing a tree: said as it is, not as a dead host
            outcome = _Failed(f"rendering failed in the render host: {type(exc).__name__}: {exc}", ())
        connection.send(outcome)
    except (EOFError, BrokenPipeError, KeyboardInterrupt):
        pass  # the parent closed the pipe, went away, or the user pressed Ctrl-C: nothing to do
    finally:
        connection.close()


class RenderHost:
    """A started host; call it with the job, or :meth:`close` it unused."""

    def __init__(self, process: BaseProcess, connection: Connection) -> None:
        self._process = process
        self._connection = connection
        self._answered = False

    @classmethod
    def start(cls) -> RenderHost | None:
        """A started host, or None when the trees would render one after the other anyway (one CPU)."""
        if worker_count(2) < 2:
            return None
        context = multiprocessing.get_context("fork")
        ours, theirs = context.Pipe()
        process = context.Process(target=_serve, args=(theirs, ours, os.getpid()), name="bbws-gen render host")
        process.start()
        theirs.close()
        return cls(process, ours)

    def __call__(self, job: RenderJob) -> Rendered:
        """Render ``job`` in the host; raise :class:`GenerateError` when it fails or the host died."""
        try:
            self._connection.send(job)
            outcome = self._connection.recv()
            self._answered = True
        except (EOFError, OSError) as exc:
            raise GenerateError(
                "the render host process died (killed, or out of memory); nothing was changed",
                ["run generate again; if it recurs, check the machine's memory"],
            ) from exc
        finally:
            self.close()
        if isinstance(outcome, _Failed):
            raise GenerateError(outcome.message, outcome.details)
        return outcome  # type: ignore[no-any-return]  # a Rendered, from _serve

    def close(self) -> None:
        """Stop the host: wait for it when it has answered (it is exiting), else terminate it (unused, it may
        still be importing Copier; or this process is failing or cancelled while it renders: its workers die
        with it). Closing twice is harmless."""
        if self._connection.closed:
            return
        self._connection.close()
        if self._answered:
            self._process.join(timeout=10)
        if self._process.is_alive():
            self._process.terminate()
        self._process.join()
