"""A stateful property: whatever both sides do, in whatever interleaving, the two nodes
agree on a referral's status once every event in flight has been delivered.

Each node keeps its own copy; a command is decided locally by the lifecycle and its event
travels to the other node through a FIFO channel (JetStream with per-referral step order),
where ``settle`` applies it.
"""

from __future__ import annotations

from collections import deque

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from crocevia_contracts import EventName
from crocevia_contracts.lifecycle import STEPS, Side, Status, TransitionRefused, decide, settle

ACTIONS = sorted(a for a in STEPS if a not in ("erase",))


class TwoNodes(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        # The sender created the referral; its requested event is on its way.
        self.status = {Side.SENDER: Status.REQUESTED, Side.RECEIVER: None}
        self.channel: dict[Side, deque[EventName]] = {Side.SENDER: deque([EventName.REQUESTED]), Side.RECEIVER: deque()}
        self.refused_on_the_wire = 0

    def _send(self, side: Side, event: EventName) -> None:
        self.channel[side].append(event)

    @rule(side=st.sampled_from(list(Side)), action=st.sampled_from(ACTIONS))
    def command(self, side: Side, action: str) -> None:
        current = self.status[side]
        if current is None:
            return  # the receiver does not know the referral yet
        try:
            step = decide(action, current, side)
        except TransitionRefused:
            return
        self.status[side] = step.target(current)
        self._send(side, step.event)

    @precondition(lambda self: any(self.channel.values()))
    @rule(side=st.sampled_from(list(Side)))
    def deliver(self, side: Side) -> None:
        if not self.channel[side]:
            return
        event = self.channel[side].popleft()
        target = side.other
        if event is EventName.REQUESTED:
            # The receiving node stores it and answers received at once.
            self.status[target] = Status.RECEIVED
            self._send(target, EventName.RECEIVED)
            return
        current = self.status[target]
        assert current is not None, "steps are delivered after requested"
        try:
            self.status[target] = settle(event, current, side).status
        except TransitionRefused:
            self.refused_on_the_wire += 1

    @invariant()
    def nothing_valid_is_refused_on_the_wire(self) -> None:
        assert self.refused_on_the_wire == 0

    @invariant()
    def settled_nodes_agree(self) -> None:
        if not any(self.channel.values()):
            assert self.status[Side.SENDER] == self.status[Side.RECEIVER], self.status


TwoNodes.TestCase.settings = settings(max_examples=300, stateful_step_count=40, deadline=None)
test_two_nodes_never_disagree_once_settled = TwoNodes.TestCase
