"""The test events of tests/security.

The campaigns pad the log with ``test.*`` events the vault itself never writes (``build_template``'s
notes, the tamper tests' later events, the canary note). The registry of actions
(:mod:`vault.facts`) refuses every action it does not know, so the ones used here are declared for
the test run, by name: any other action, ``test.`` or not, is still refused.
"""

from __future__ import annotations

from vault import facts

facts.allow_test_actions("test.note", "test.after_checkpoint", "test.regrown", "test.later", "test.puppet",
                         "test.as_bob", "test.canary")
