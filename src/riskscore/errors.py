"""User-facing errors.

Every problem that a user can fix (a missing file, a wrong column, an infeasible policy)
is raised as :class:`RiskscoreError`. The CLI prints its message as one line and exits
non-zero; no traceback reaches the user.
"""

from __future__ import annotations


class RiskscoreError(Exception):
    """An error the user can fix. The message names the file, the column and what was expected.

    Parameters
    ----------
    message : str
        One line: what was wrong, what was received, how to fix it.
    exit_code : int, default 2
        Process exit status used by the CLI.
    """

    def __init__(self, message: str, exit_code: int = 2):
        super().__init__(message)
        self.exit_code = exit_code


class ContractError(RiskscoreError):
    """Input data does not meet the data contract in a way that stops the run
    (unreadable file, unknown encoding, missing required table or column)."""


class PolicyError(RiskscoreError):
    """The policy file is invalid or the policy is infeasible; the message names the
    constraint that binds."""


class VerificationError(RiskscoreError):
    """A re-computed draw differs from the recorded one."""
