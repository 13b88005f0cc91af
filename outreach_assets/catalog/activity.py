"""What reps and prospects do: calls, mailings, tasks, events."""

from outreach_assets.catalog.model import Replication, Stream, fields, links, many, rels

ACTIVITY_STREAMS: tuple[Stream, ...] = (
    Stream(
        name="call_dispositions",
        path="callDispositions",
        json_type="callDisposition",
        replication=Replication.INCREMENTAL,
        cursor="updatedAt",
        fields=fields(s="name outcome", i="order", ts="createdAt updatedAt"),
        relationships=rels("creator:user"),
        links_only=links("calls"),
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
        links_only=links("calls"),
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
        links_only=links("batches"),
        description="Inbound and outbound calls logged against prospects.",
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
        to_many=many("attachments:attachment recipients:recipient tasks:task"),
        links_only=links("bccEntitiesId ccEntitiesId prospectsIds toEntitiesId"),
        max_page_size=250,
        description=(
            "Emails sent or scheduled; pages of 250 because bodyHtml makes 1000-row pages "
            "slow enough for Outreach to answer 502."
        ),
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
        to_many=many(
            "prospectContacts:emailAddress prospectPhoneNumbers:phoneNumber "
            "sequenceSequenceSteps:sequenceStep "
            "sequenceStateSequenceStepOverrides:sequenceStepOverride "
            "sequenceStepOverrideTemplates:template"
        ),
        links_only=links("calls mailings"),
        description="To-dos for reps (calls, emails, in-person actions), open and completed.",
    ),
    Stream(
        name="recipients",
        path="recipients",
        json_type="recipient",
        replication=Replication.FULL_SNAPSHOT,
        cursor=None,
        fields=fields(
            s="emailHash recipientType value",
            b="primary",
            ts="createdAt updatedAt",
        ),
        relationships=rels("prospect:prospect user:user"),
        description=(
            "Recipients of mailings and templates (to, cc, bcc); no filterable timestamp, so read "
            "as a full snapshot."
        ),
    ),
    Stream(
        name="task_dispositions",
        path="taskDispositions",
        json_type="taskDisposition",
        replication=Replication.INCREMENTAL,
        cursor="updatedAt",
        fields=fields(
            s="name taskType value",
            i="order",
            ts="createdAt updatedAt",
        ),
        relationships=rels("creator:user"),
        links_only=links("tasks"),
        description="Outcomes a rep can record when completing a task.",
    ),
    Stream(
        name="task_priorities",
        path="taskPriorities",
        json_type="taskPriority",
        replication=Replication.INCREMENTAL,
        cursor="updatedAt",
        fields=fields(
            s="name",
            i="color weight",
            ts="createdAt updatedAt",
        ),
        links_only=links("sequenceSteps tasks"),
        description="Task priority levels and their weights.",
    ),
    Stream(
        name="task_purposes",
        path="taskPurposes",
        json_type="taskPurpose",
        replication=Replication.INCREMENTAL,
        cursor="updatedAt",
        fields=fields(
            s="name taskType",
            i="order",
            ts="createdAt updatedAt",
        ),
        relationships=rels("creator:user"),
        links_only=links("tasks"),
        description="Reasons a rep can give for a task.",
    ),
    Stream(
        name="kaia_recordings",
        path="kaiaRecordings",
        json_type="kaiaRecording",
        replication=Replication.INCREMENTAL,
        cursor="updatedAt",
        fields=fields(
            s="botInMeetingSeconds format instanceId mediaDurationSeconds provider recordingUrl "
            "sourceId state title transcriptUrl",
            i="participantCount",
            ts="createdAt endTime startTime updatedAt",
            j="host participants topics",
        ),
        links_only=links("account opportunity owner"),
        description=(
            "Meeting recordings and transcripts of Kaia, Outreach's conversation intelligence; "
            "needs a plan with Kaia, without it the endpoint refuses the request."
        ),
    ),
)
