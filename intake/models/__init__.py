"""The intake domain model. Importing this package registers every table on `Base.metadata`."""

from intake.models.base import Base, UTCDateTime, utcnow
from intake.models.calls import CallOutcome, CallRecord
from intake.models.cases import (
    Attachment,
    Case,
    CaseCodeCounter,
    CaseEvent,
    CaseExtension,
    CaseKind,
    CaseStatus,
    Priority,
)
from intake.models.contacts import (
    Channel,
    Contact,
    ContactIdentity,
    Conversation,
    ConversationState,
    Direction,
    Message,
)
from intake.models.inbound import DeliveryStatus, InboundDelivery
from intake.models.open311 import Open311ApiKey, Open311Request
from intake.models.outbox import OutboxMessage, OutboxStatus
from intake.models.reference import Agency, AgencyKind, Category, RoutingRule, Ward
from intake.models.registrations import (
    HouseholdMember,
    Programme,
    Registration,
    RegistrationVerification,
    VerificationStatus,
    Verifier,
)
from intake.models.reports import ReportChange, ReportDay, ReportDayCount
from intake.models.training import ReviewStatus, TrainingReview
from intake.models.users import ROLES_SEEING_PERSONAL_DATA, Role, User

__all__ = [
    "ROLES_SEEING_PERSONAL_DATA",
    "Agency",
    "AgencyKind",
    "Attachment",
    "Base",
    "CallOutcome",
    "CallRecord",
    "Case",
    "CaseCodeCounter",
    "CaseEvent",
    "CaseExtension",
    "CaseKind",
    "CaseStatus",
    "Category",
    "Channel",
    "Contact",
    "ContactIdentity",
    "Conversation",
    "ConversationState",
    "DeliveryStatus",
    "Direction",
    "HouseholdMember",
    "InboundDelivery",
    "Message",
    "Open311ApiKey",
    "Open311Request",
    "OutboxMessage",
    "OutboxStatus",
    "Priority",
    "Programme",
    "Registration",
    "RegistrationVerification",
    "ReportChange",
    "ReportDay",
    "ReportDayCount",
    "ReviewStatus",
    "Role",
    "RoutingRule",
    "TrainingReview",
    "UTCDateTime",
    "User",
    "VerificationStatus",
    "Verifier",
    "Ward",
    "utcnow",
]
