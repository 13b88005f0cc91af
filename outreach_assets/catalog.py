"""The stream catalog: the one place where facts about Outreach streams live.

Every other module (client, sandbox, records, assets, CLI scopes) reads stream facts from
here, so a stream's path, cursor, fields and relationships are never repeated elsewhere.
Fields are Mage's attributes plus the OA/singer-io additions, typed after Outreach's
OpenAPI where Mage is wrong (see ``shared/streams.md``).
"""

from dataclasses import dataclass
from enum import StrEnum


class FieldType(StrEnum):
    """The value types a catalog field can have; records.py maps each to one Arrow type."""

    STRING = "string"
    INTEGER = "integer"
    NUMBER = "number"
    BOOLEAN = "boolean"
    TIMESTAMP = "timestamp"  # ISO-8601 date-time, always UTC with 'Z' from Outreach
    DATE = "date"  # ISO-8601 calendar date
    STRING_LIST = "string_list"  # array<string>
    INT_LIST_LIST = "int_list_list"  # array<array<integer>> (prospects.contactHistogram)
    JSON = "json"  # free-form object or array of objects (events.payload, users.duties)


class Replication(StrEnum):
    """How a stream is read: by a time cursor, or as a whole table each time."""

    INCREMENTAL = "incremental"
    FULL_SNAPSHOT = "full_snapshot"


@dataclass(frozen=True)
class Field:
    """One attribute of a JSON:API resource."""

    name: str
    type: FieldType


@dataclass(frozen=True)
class Relationship:
    """A to-one relationship, flattened to a ``<name>Id`` column.

    ``target`` is the JSON:API type it points at (``owner`` -> ``user``), which the sandbox
    uses to keep relationships consistent between streams.
    """

    name: str
    target: str

    @property
    def column(self) -> str:
        return f"{self.name}Id"


@dataclass(frozen=True)
class Stream:
    """One Outreach list endpoint and everything needed to extract it."""

    name: str  # asset name, snake_case: "call_dispositions"
    path: str  # API path under /api/v2, camelCase: "callDispositions"
    json_type: str  # JSON:API resource type: "callDisposition"
    replication: Replication
    cursor: str | None  # filterable + sortable timestamp attribute; None for full snapshots
    fields: tuple[Field, ...]  # attributes, excluding the resource id
    relationships: tuple[Relationship, ...] = ()  # to-one only
    max_page_size: int = 1000  # lower where big bodies make Outreach answer 502
    # Attributes dropped unless the user opts in (prospects.contactHistogram, per the seed:
    # array-of-arrays columns break many destinations).
    dropped_by_default: tuple[str, ...] = ()
    description: str = ""

    @property
    def scope(self) -> str:
        """The OAuth scope that grants read access to this stream."""
        return f"{self.path}.read"

    @property
    def is_incremental(self) -> bool:
        return self.replication is Replication.INCREMENTAL

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"stream {self.name!r} has no field {name!r}")


def fields(
    *,
    s: str = "",
    i: str = "",
    n: str = "",
    b: str = "",
    ts: str = "",
    d: str = "",
    sl: str = "",
    j: str = "",
    ill: str = "",
    custom: int = 0,
) -> tuple[Field, ...]:
    """Build a field tuple from space-separated names per type.

    Keys: s=string, i=integer, n=number, b=boolean, ts=timestamp, d=date, sl=string list,
    j=JSON, ill=list of integer lists; ``custom`` adds ``custom1..customN`` strings.
    """
    spec = (
        (s, FieldType.STRING),
        (i, FieldType.INTEGER),
        (n, FieldType.NUMBER),
        (b, FieldType.BOOLEAN),
        (ts, FieldType.TIMESTAMP),
        (d, FieldType.DATE),
        (sl, FieldType.STRING_LIST),
        (j, FieldType.JSON),
        (ill, FieldType.INT_LIST_LIST),
    )
    out = [Field(name, t) for names, t in spec for name in names.split()]
    out += [Field(f"custom{k}", FieldType.STRING) for k in range(1, custom + 1)]
    return tuple(sorted(out, key=lambda f: f.name))


def rels(spec: str) -> tuple[Relationship, ...]:
    """Build relationships from ``"owner:user account:account"``."""
    out = []
    for item in spec.split():
        name, target = item.split(":")
        out.append(Relationship(name, target))
    return tuple(out)


# --- the table -------------------------------------------------------------------------
#
# Attribute/relationship clashes: OA (or a real payload) carries some attributes whose name
# equals a relationship column: prospects ``updaterId`` vs the ``updater`` relationship,
# events ``mailingId`` vs ``mailing``, mailboxes ``userId`` vs ``user``. They are not listed
# as fields: the relationship column wins (records.py documents that rule), as in singer-io
# since v0.8.0. Mage ``fks`` columns (``creatorId``, ...) likewise come from relationships.
#
# Polymorphic relationships get the first or most common target type OA lists:
# calls.associatedId (account|opportunity), tasks.subject (account|opportunity|prospect),
# tasks.creator (sequenceStep|stage|user).
#
# mailboxes: OA also documents the secret attributes ``password``, ``smtpPassword`` and
# ``sendgridApiKey``; they are deliberately not catalog fields.

_REPLY_COUNTS = (
    "bounceCount clickCount deliverCount failureCount negativeReplyCount neutralReplyCount "
    "openCount optOutCount positiveReplyCount replyCount scheduleCount"
)

STREAMS: tuple[Stream, ...] = (
    Stream(
        name="accounts",
        path="accounts",
        json_type="account",
        replication=Replication.INCREMENTAL,
        cursor="updatedAt",
        fields=fields(
            s="annualRevenueRange companyType customId description domain externalSource "
            "industry linkedInUrl locality name naturalName sharingTeamId tickerSymbol "
            "websiteUrl",
            i="followers linkedInEmployees numberOfEmployees",
            n="buyerIntentScore",
            b="named",
            ts="createdAt foundedAt touchedAt updatedAt",
            sl="naicsCodes sicCodes tags",
            custom=150,
        ),
        relationships=rels(
            "creator:user defaultPluginMapping:pluginMapping owner:user "
            "primaryRecordTeam:team updater:user"
        ),
        description="Companies prospects belong to, with all 150 custom fields.",
    ),
    Stream(
        name="call_dispositions",
        path="callDispositions",
        json_type="callDisposition",
        replication=Replication.INCREMENTAL,
        cursor="updatedAt",
        fields=fields(s="name outcome", i="order", ts="createdAt updatedAt"),
        relationships=rels("creator:user"),
        description="Outcomes a rep can log for a call (connected, left voicemail, ...).",
    ),
    Stream(
        name="call_purposes",
        path="callPurposes",
        json_type="callPurpose",
        replication=Replication.INCREMENTAL,
        cursor="updatedAt",
        fields=fields(s="name", i="order", ts="createdAt updatedAt"),
        relationships=rels("creator:user"),
        description="Reasons a rep can give for placing a call (intro, follow-up, ...).",
    ),
    Stream(
        name="calls",
        path="calls",
        json_type="call",
        replication=Replication.INCREMENTAL,
        cursor="updatedAt",
        fields=fields(
            s="direction externalVendor from note outcome recordingUrl sequenceAction state "
            "to uid userCallType vendorCallId voicemailRecordingUrl",
            b="shouldRecordCall",
            ts="answeredAt completedAt createdAt dialedAt returnedAt stateChangedAt updatedAt",
            sl="tags",
        ),
        relationships=rels(
            "associatedId:account callDisposition:callDisposition callPurpose:callPurpose "
            "kaiaCrmRecording:kaiaCrmRecording opportunity:opportunity "
            "outboundVoicemail:outboundVoicemail phone:phone phoneNumber:phoneNumber "
            "prospect:prospect sequence:sequence sequenceState:sequenceState "
            "sequenceStep:sequenceStep task:task user:user"
        ),
        description="Inbound and outbound calls logged against prospects.",
    ),
    Stream(
        name="content_categories",
        path="contentCategories",
        json_type="contentCategory",
        replication=Replication.INCREMENTAL,
        cursor="updatedAt",
        fields=fields(
            s="color name",
            b="allowSequences allowSnippets allowTemplates",
            ts="createdAt updatedAt",
        ),
        relationships=rels("creator:user"),
        description="Folders that group sequences, snippets and templates.",
    ),
    Stream(
        name="duties",
        path="duties",
        json_type="duty",
        replication=Replication.FULL_SNAPSHOT,
        cursor=None,
        fields=fields(s="dutyType symbolicName"),
        description="Work roles users can hold; no timestamps, so read as a full snapshot.",
    ),
    Stream(
        name="email_addresses",
        path="emailAddresses",
        json_type="emailAddress",
        replication=Replication.INCREMENTAL,
        cursor="updatedAt",
        fields=fields(
            s="email emailType status",
            i="order",
            ts="createdAt statusChangedAt unsubscribedAt updatedAt",
        ),
        relationships=rels("prospect:prospect"),
        description="Prospects' email addresses with their delivery and unsubscribe status.",
    ),
    Stream(
        name="events",
        path="events",
        json_type="event",
        replication=Replication.INCREMENTAL,
        cursor="createdAt",
        fields=fields(
            s="body externalUrl name requestCity requestDevice requestHost requestRegion",
            b="requestProxied",
            ts="createdAt eventAt",
            j="payload",
        ),
        relationships=rels(
            "account:account call:call mailing:mailing note:note opportunity:opportunity "
            "plugin:plugin prospect:prospect sequence:sequence sequenceStep:sequenceStep "
            "task:task user:user"
        ),
        description=(
            "Activity log (opens, clicks, mailbox changes, ...); incremental on createdAt "
            "because events can be back-dated and an eventAt cursor would skip them."
        ),
    ),
    Stream(
        name="mailboxes",
        path="mailboxes",
        json_type="mailbox",
        replication=Replication.INCREMENTAL,
        cursor="updatedAt",
        fields=fields(
            s="email emailHash emailProvider emailSignature ewsEndpoint exchangeVersion "
            "imapHost optOutMessage optOutSignature prospectEmailExclusions providerType "
            "sendMethod sendgridWebhookUrl smtpHost smtpUsername syncMethod username",
            i="authId ewsSslVerifyMode imapPort maxEmailsPerDay maxMailingsPerDay "
            "maxMailingsPerWeek providerId sendMaxRetries sendPeriod sendThreshold smtpPort "
            "syncActiveFrequency syncPassiveFrequency",
            b="editable imapSsl sendDisabled sendRequiresSync smtpSsl syncDisabled "
            "syncOutreachFolder validateSend validateSync",
            ts="createdAt sendErroredAt sendSuccessAt syncErroredAt syncFinishedAt "
            "syncSuccessAt updatedAt",
        ),
        relationships=rels("creator:user updater:user user:user"),
        description="Users' sending and syncing mailbox settings, without their secrets.",
    ),
    Stream(
        name="mailings",
        path="mailings",
        json_type="mailing",
        replication=Replication.INCREMENTAL,
        cursor="updatedAt",
        fields=fields(
            s="bodyHtml bodyText errorBacktrace errorReason followUpTaskType mailboxAddress "
            "mailingType messageId notifyThreadCondition notifyThreadStatus state subject",
            i="clickCount openCount retryCount retryInterval",
            b="overrideSafetySettings trackLinks trackOpens",
            ts="bouncedAt clickedAt createdAt deliveredAt followUpTaskScheduledAt "
            "markedAsSpamAt notifyThreadScheduledAt openedAt repliedAt retryAt scheduledAt "
            "stateChangedAt unsubscribedAt updatedAt",
            sl="references",
        ),
        relationships=rels(
            "calendar:calendar followUpSequence:sequence mailbox:mailbox "
            "opportunity:opportunity prospect:prospect schedule:schedule sequence:sequence "
            "sequenceState:sequenceState sequenceStep:sequenceStep task:task "
            "template:template user:user"
        ),
        max_page_size=250,
        description=(
            "Emails sent or scheduled; pages of 250 because bodyHtml makes 1000-row pages "
            "slow enough for Outreach to answer 502."
        ),
    ),
    Stream(
        name="opportunities",
        path="opportunities",
        json_type="opportunity",
        replication=Replication.INCREMENTAL,
        cursor="updatedAt",
        fields=fields(
            s="amountPrecise currencyType description forecastCategory leadSource lostReason "
            "mapLink mapNextSteps mapStatus name nextStep opportunityType prospectingRepId "
            "recordType sharingTeamId",
            i="amount probability",
            ts="closeDate createdAt externalCreatedAt externalUpdatedAt touchedAt trashedAt "
            "updatedAt",
            sl="tags",
            custom=150,
        ),
        relationships=rels(
            "account:account creator:user defaultPluginMapping:pluginMapping "
            "externalCreator:user opportunityStage:opportunityStage owner:user "
            "primaryProspect:prospect stage:opportunityStage territory:territory updater:user"
        ),
        description="Deals in progress, with all 150 custom fields.",
    ),
    Stream(
        name="opportunity_stages",
        path="opportunityStages",
        json_type="opportunityStage",
        replication=Replication.INCREMENTAL,
        cursor="updatedAt",
        fields=fields(s="color name", i="order", b="isClosed", ts="createdAt updatedAt"),
        relationships=rels("creator:user"),
        description="The pipeline stages an opportunity moves through.",
    ),
    Stream(
        name="personas",
        path="personas",
        json_type="persona",
        replication=Replication.INCREMENTAL,
        cursor="updatedAt",
        fields=fields(s="description name", ts="createdAt updatedAt"),
        description="Buyer personas prospects can be tagged with.",
    ),
    Stream(
        name="prospects",
        path="prospects",
        json_type="prospect",
        replication=Replication.INCREMENTAL,
        cursor="updatedAt",
        fields=fields(
            s="addressCity addressCountry addressState addressStreet addressStreet2 addressZip "
            "angelListUrl callsOptStatus campaignName company degree emailsOptStatus "
            "eventName externalId externalOwner externalSource facebookUrl firstName gender "
            "githubUrl githubUsername googlePlusUrl lastName linkedInId linkedInSlug "
            "linkedInUrl middleName name nickname occupation personalNote1 personalNote2 "
            "preferredContact quoraUrl region school sharingTeamId smsOptStatus source "
            "specialties stackOverflowId stackOverflowUrl timeZone timeZoneIana "
            "timeZoneInferred title twitterUrl twitterUsername websiteUrl1 websiteUrl2 "
            "websiteUrl3",
            i="clickCount linkedInConnections openCount replyCount",
            n="engagedScore score",
            b="callOptedOut emailOptedOut optedOut smsOptedOut",
            ts="addedAt availableAt callsOptedAt createdAt emailsOptedAt engagedAt optedOutAt "
            "smsOptedAt touchedAt trashedAt updatedAt",
            # OA declares these three as format "date"; Mage's date-time was wrong.
            d="dateOfBirth graduationDate jobStartDate",
            sl="emails homePhones mobilePhones otherPhones tags voipPhones workPhones",
            ill="contactHistogram",
            custom=150,
        ),
        relationships=rels(
            "account:account creator:user defaultPluginMapping:pluginMapping owner:user "
            "persona:persona stage:stage trashedByAccount:account updater:user"
        ),
        dropped_by_default=("contactHistogram",),
        description=(
            "People being sold to, with all 150 custom fields; contactHistogram is dropped "
            "unless asked for because many destinations cannot take an array of arrays."
        ),
    ),
    Stream(
        name="sequence_states",
        path="sequenceStates",
        json_type="sequenceState",
        replication=Replication.INCREMENTAL,
        cursor="updatedAt",
        fields=fields(
            s="errorReason pauseReason state",
            i=_REPLY_COUNTS,
            ts="activeAt callCompletedAt createdAt repliedAt stateChangedAt updatedAt",
        ),
        relationships=rels(
            "account:account batchItemCreator:batchItem creator:user mailbox:mailbox "
            "opportunity:opportunity prospect:prospect sequence:sequence "
            "sequenceStep:sequenceStep user:user"
        ),
        description="One prospect's progress through one sequence, with mailing counters.",
    ),
    Stream(
        name="sequence_steps",
        path="sequenceSteps",
        json_type="sequenceStep",
        replication=Replication.INCREMENTAL,
        cursor="updatedAt",
        fields=fields(
            s="displayName stepType taskNote",
            i=f"{_REPLY_COUNTS} interval order taskAutoskipDelay",
            # ``date`` (the send date of "date" sequences): OA says plain string, Mage date,
            # singer-io date-time; TIMESTAMP holds both shapes without losing a time part.
            ts="createdAt date updatedAt",
        ),
        relationships=rels(
            "callPurpose:callPurpose creator:user schedule:schedule sequence:sequence "
            "taskPriority:taskPriority updater:user"
        ),
        description="The ordered steps (email, call, task) that make up a sequence.",
    ),
    Stream(
        name="sequence_templates",
        path="sequenceTemplates",
        json_type="sequenceTemplate",
        replication=Replication.FULL_SNAPSHOT,
        cursor=None,
        fields=fields(
            i=_REPLY_COUNTS,
            b="enabled isReply",
            ts="createdAt enabledAt updatedAt",
        ),
        relationships=rels("creator:user sequenceStep:sequenceStep template:template updater:user"),
        description=(
            "Links between sequence steps and the templates they send; the API cannot "
            "filter or sort them by time, so read as a full snapshot."
        ),
    ),
    Stream(
        name="sequences",
        path="sequences",
        json_type="sequence",
        replication=Replication.INCREMENTAL,
        cursor="updatedAt",
        fields=fields(
            s="description name primaryReplyAction salesMotion scheduleIntervalType "
            "secondaryReplyAction sequenceType shareType",
            i=f"{_REPLY_COUNTS} durationInDays maxActivations numContactedProspects "
            "numRepliedProspects primaryReplyPauseDuration secondaryReplyPauseDuration "
            "sequenceStepCount throttleCapacity throttleMaxAddsPerDay",
            n="automationPercentage",
            b="enabled finishOnReply locked throttlePaused transactional",
            ts="createdAt enabledAt lastUsedAt lockedAt throttlePausedAt updatedAt",
            sl="tags",
        ),
        relationships=rels(
            "creator:user owner:user ruleset:ruleset schedule:schedule updater:user"
        ),
        description="Automated outreach cadences and their aggregate mailing counters.",
    ),
    Stream(
        name="snippets",
        path="snippets",
        json_type="snippet",
        replication=Replication.INCREMENTAL,
        cursor="updatedAt",
        fields=fields(s="bodyHtml bodyText name shareType", ts="createdAt updatedAt", sl="tags"),
        relationships=rels("creator:user owner:user updater:user"),
        description="Reusable pieces of email text reps insert into messages.",
    ),
    Stream(
        name="stages",
        path="stages",
        json_type="stage",
        replication=Replication.INCREMENTAL,
        cursor="updatedAt",
        fields=fields(s="color name", i="order", ts="createdAt updatedAt"),
        relationships=rels("creator:user updater:user"),
        description="The lifecycle stages a prospect can be in.",
    ),
    Stream(
        name="tasks",
        path="tasks",
        json_type="task",
        replication=Replication.INCREMENTAL,
        cursor="updatedAt",
        fields=fields(
            s="action compiledSequenceTemplateHtml note opportunityAssociation state taskType",
            b="completed",
            ts="autoskipAt completedAt createdAt dueAt scheduledAt stateChangedAt updatedAt",
        ),
        relationships=rels(
            "account:account call:call completer:user creator:user "
            "defaultPluginMapping:pluginMapping mailing:mailing opportunity:opportunity "
            "owner:user prospect:prospect prospectAccount:account prospectOwner:user "
            "prospectStage:stage sequence:sequence sequenceState:sequenceState "
            "sequenceStateSequenceStep:sequenceStep sequenceStateStartingTemplate:template "
            "sequenceStep:sequenceStep sequenceTemplate:sequenceTemplate "
            "sequenceTemplateTemplate:template subject:prospect "
            "taskDisposition:taskDisposition taskPriority:taskPriority "
            "taskPurpose:taskPurpose taskTheme:taskTheme team:team template:template"
        ),
        description="To-dos for reps (calls, emails, in-person actions), open and completed.",
    ),
    Stream(
        name="teams",
        path="teams",
        json_type="team",
        replication=Replication.INCREMENTAL,
        cursor="updatedAt",
        fields=fields(s="color name scimExternalId scimSource", ts="createdAt updatedAt"),
        relationships=rels("creator:user teamSettings:teamSettings updater:user"),
        description=(
            "Groups of users; incremental because OA marks updatedAt filterable and "
            "sortable (Mage's schema lacked it and fell back to full table)."
        ),
    ),
    Stream(
        name="templates",
        path="templates",
        json_type="template",
        replication=Replication.INCREMENTAL,
        cursor="updatedAt",
        fields=fields(
            s="bodyHtml bodyText name shareType subject",
            i=_REPLY_COUNTS,
            b="archived trackLinks trackOpens",
            ts="archivedAt createdAt lastUsedAt updatedAt",
            sl="bccRecipients ccRecipients tags toRecipients",
        ),
        relationships=rels("creator:user owner:user statsTarget:template updater:user"),
        max_page_size=250,
        description=(
            "Reusable email templates; pages of 250 because bodyHtml makes 1000-row pages "
            "slow enough for Outreach to answer 502."
        ),
    ),
    Stream(
        name="users",
        path="users",
        json_type="user",
        replication=Replication.INCREMENTAL,
        cursor="updatedAt",
        fields=fields(
            s="bridgePhone bridgePhoneExtension controlledTabDefault email firstName "
            "inboundBridgePhone inboundBridgePhoneExtension inboundCallBehavior "
            "inboundPhoneType inboundVoicemailCustomMessageText "
            "inboundVoicemailMessageTextVoice inboundVoicemailPromptType lastName name "
            "oceGmailTrackingState phoneCountryCode phoneNumber phoneType "
            "preferredVoiceRegion primaryTimezone scimExternalId scimSource "
            "secondaryTimezone tertiaryTimezone title userGuid username",
            i="accountsViewId callsViewId kaiaRecordingsViewId opportunitiesViewId "
            "prospectsViewId reportsTeamPerfViewId reportsViewId tasksViewId teamsViewId "
            "usersViewId",
            b="activityNotificationsDisabled bounceWarningEmailEnabled "
            "dailyDigestEmailEnabled enableVoiceRecordings engagementEmailsEnabled "
            "keepBridgePhoneConnected locked mailboxErrorEmailEnabled "
            "meetingEngagementNotificationEnabled notificationsEnabled "
            "oceClickToDialEverywhere oceGmailToolbar oceSalesforceEmailDecorating "
            "oceSalesforcePhoneDecorating oceUniversalTaskFlow oceWindowMode "
            "pluginAlertNotificationEnabled prefersLocalPresence senderNotificationsExcluded "
            "textingEmailNotifications unknownReplyEmailEnabled "
            "voicemailNotificationEnabled weeklyDigestEmailEnabled",
            ts="createdAt currentSignInAt lastSignInAt onboardedAt passwordExpiresAt updatedAt",
            j="duties",
            custom=5,
        ),
        relationships=rels(
            "calendar:calendar creator:user jobRole:jobRole mailbox:mailbox phone:phone "
            "profile:profile role:role smsPhone:phone updater:user"
        ),
        description="The Outreach users (reps, managers, admins) and their settings.",
    ),
)

STREAMS_BY_NAME: dict[str, Stream] = {s.name: s for s in STREAMS}
STREAMS_BY_PATH: dict[str, Stream] = {s.path: s for s in STREAMS}
STREAMS_BY_TYPE: dict[str, Stream] = {s.json_type: s for s in STREAMS}


def get_stream(name: str) -> Stream:
    """Look a stream up by asset name, with an error that lists the valid names."""
    try:
        return STREAMS_BY_NAME[name]
    except KeyError:
        valid = ", ".join(sorted(STREAMS_BY_NAME))
        raise KeyError(f"unknown Outreach stream {name!r}; known streams: {valid}") from None


def all_scopes() -> list[str]:
    """Every OAuth scope the catalog's streams need, for the authorize URL."""
    return sorted({s.scope for s in STREAMS})
