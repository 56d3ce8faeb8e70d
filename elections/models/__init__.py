"""Teller's records, one module per concern."""

from elections.models.audit import AuditEvent
from elections.models.ballots import Ballot, InboxBallot, Participation, VotingChannel
from elections.models.candidates import Candidate, CandidateStatus, Nomination
from elections.models.contests import Contest, ContestState
from elections.models.notifications import (
    OPTIONAL_KINDS,
    Notification,
    NotificationKind,
    NotificationMute,
    NotificationStatus,
)
from elections.models.polls import Poll, PollStatus, RollEntry
from elections.models.proxies import ProxyAppointment, ProxyStatus
from elections.models.regions import Body, Membership, Region, RegionalOfficial
from elections.models.register import PaperCount
from elections.models.rules import Channel, Method, Publication, RuleSet, StvRules, TieBreak
from elections.models.rulings import Complaint, ComplaintState, Ruling, RulingKind

__all__ = [
    "OPTIONAL_KINDS",
    "AuditEvent",
    "Ballot",
    "Body",
    "Candidate",
    "CandidateStatus",
    "Channel",
    "Complaint",
    "ComplaintState",
    "Contest",
    "ContestState",
    "InboxBallot",
    "Membership",
    "Method",
    "Nomination",
    "Notification",
    "NotificationKind",
    "NotificationMute",
    "NotificationStatus",
    "PaperCount",
    "Participation",
    "Poll",
    "PollStatus",
    "ProxyAppointment",
    "ProxyStatus",
    "Publication",
    "Region",
    "RegionalOfficial",
    "RollEntry",
    "RuleSet",
    "Ruling",
    "RulingKind",
    "StvRules",
    "TieBreak",
    "VotingChannel",
]
