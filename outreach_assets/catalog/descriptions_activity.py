"""Column descriptions of the activity streams' attributes: calls, mailings, tasks, events.

Keyed by stream name, then attribute name. ``descriptions`` reads these before its shared
``COMMON`` table, so an entry here is for a name that means something specific in its stream
(or that only the stream has).
"""

from collections.abc import Mapping

_CALL_DISPOSITIONS: Mapping[str, str] = {
    "outcome": "Call outcome the disposition stands for: Answered or Not Answered.",
}

_CALLS: Mapping[str, str] = {
    "answeredAt": "When the call was answered.",
    "completedAt": "When the call was completed.",
    "createdAt": (
        "When the call record was created; not necessarily when the call took place (see dialedAt)."
    ),
    "dialedAt": "When the call was dialled.",
    "direction": "Direction of the call from the user's side: inbound or outbound.",
    "externalVendor": "Voice provider that carried the call; may be empty.",
    "from": "Phone number the call was placed from.",
    "note": "Note the user wrote about the call.",
    "outcome": "Outcome of the call: Answered or Not Answered.",
    "recordingUrl": "URL of the call's audio recording.",
    "returnedAt": "When the call was returned.",
    "sequenceAction": (
        "What the call does to the sequence: Advance, Finish, Finish - No Reply or Finish - "
        "Replied."
    ),
    "shouldRecordCall": "Whether the call is recorded.",
    "state": "Current state of the call.",
    "to": "Phone number the call was placed to.",
    "uid": "Outreach's voice trace id of the call.",
    "userCallType": "How the user placed the call in Outreach: bridge or voip.",
    "vendorCallId": "The voice provider's id of the call; may be empty.",
    "voicemailRecordingUrl": "URL of the recording of the call's voicemail.",
}

_EVENTS: Mapping[str, str] = {
    "body": "Body of the event; external events only.",
    "createdAt": "When the event was recorded in Outreach; can be later than eventAt.",
    "eventAt": "When the event happened; back-dated events have it earlier than createdAt.",
    "externalUrl": "URL linked to the event; external events only.",
    "name": "Name of the kind of event, e.g. mailbox_created.",
    "payload": "JSON data that came with the event; it cannot change once the event exists.",
    "requestCity": "City the request that created the event came from.",
    "requestDevice": "Kind of device the request that created the event came from.",
    "requestHost": "Host name the request that created the event came from.",
    "requestProxied": (
        "Whether that request was proxied; then its city is the mail server's, not the prospect's."
    ),
    "requestRegion": "Region the request that created the event came from.",
}

_MAILINGS: Mapping[str, str] = {
    "bodyHtml": "HTML body of the email; when set, it replaces the template's body.",
    "bouncedAt": "When the email bounced.",
    "clickCount": "How many times links in the email were clicked, if link tracking is on.",
    "clickedAt": "When a link in the email was last clicked, if link tracking is on.",
    "deliveredAt": "When the email was delivered.",
    "errorBacktrace": "Technical details of the mailing's error.",
    "errorReason": "Short summary of the mailing's error.",
    "followUpTaskScheduledAt": "When the follow-up task for this mailing is due.",
    "followUpTaskType": "Kind of follow-up task to create: follow_up or no_reply.",
    "mailboxAddress": "Address the email was sent from.",
    "mailingType": "Kind of mailing, e.g. sequence, single or campaign.",
    "markedAsSpamAt": "When the email was marked as spam.",
    "messageId": "Message-ID header of the delivered email.",
    "notifyThreadCondition": (
        "When to bump the email to the top of the user's inbox: always or no_reply."
    ),
    "notifyThreadScheduledAt": "When the email is due to be bumped to the top of the user's inbox.",
    "notifyThreadStatus": "Status of that bump: pending, sent or skipped.",
    "openCount": "How many times the email was opened, if open tracking is on.",
    "openedAt": "When the email was last opened, if open tracking is on.",
    "overrideSafetySettings": (
        "Whether users may send it even though some template variables were not filled in."
    ),
    "references": "Message ids from the email's References header.",
    "repliedAt": "When the email was replied to.",
    "retryAt": "When sending will next be retried.",
    "retryCount": "How many times sending has been retried.",
    "retryInterval": "Seconds between send retries.",
    "scheduledAt": "When the email is scheduled to be sent.",
    "state": (
        "State: bounced, delivered, delivering, drafted, failed, opened, placeholder, queued, "
        "replied or scheduled."
    ),
    "unsubscribedAt": "When the recipient unsubscribed from the mailing's sequence.",
}

_TASKS: Mapping[str, str] = {
    "action": "Kind of action the task asks for: action_item, call, email or in_person.",
    "autoskipAt": "When the task will be skipped automatically; never when empty.",
    "compiledSequenceTemplateHtml": (
        "Rendered template HTML of an open SMS or LinkedIn task from a sequence."
    ),
    "completed": "Whether the task is completed.",
    "completedAt": "When the task was completed.",
    "dueAt": "When the task is due.",
    "note": "Optional note on the task.",
    "opportunityAssociation": (
        "Rule linking the task to an opportunity: recent_created, recent_updated or noop."
    ),
    "scheduledAt": "When the pending task is scheduled for.",
    "state": "Current state of the task: pending, incomplete or complete.",
    "taskType": (
        "Type of task, e.g. manual, follow_up, or a sequence step's type such as "
        "sequence_step_call."
    ),
}

_RECIPIENTS: Mapping[str, str] = {
    "primary": "Whether this is the primary recipient.",
    "recipientType": "Which address field the recipient goes in: to, cc or bcc.",
    "value": "The recipient's contact address, e.g. an email address.",
}

_TASK_DISPOSITIONS: Mapping[str, str] = {
    "value": "Value recorded for the disposition.",
}

_TASK_PRIORITIES: Mapping[str, str] = {
    "color": "Colour of the priority's label in Outreach, as an integer (in hex, e.g. 0xFF5951FF).",
    "weight": "Relative weight that orders the priorities, lowest first.",
}

_KAIA_RECORDINGS: Mapping[str, str] = {
    "botInMeetingSeconds": "Seconds the recording bot spent in the meeting, as text.",
    "endTime": "When the recording ended.",
    "format": "What was recorded: meeting or call.",
    "host": "JSON of the meeting's host or organiser, with participant details.",
    "instanceId": "Unique instance id (UUID) of the recording.",
    "mediaDurationSeconds": "Length of the recorded media in seconds, as text; empty when unknown.",
    "participantCount": "Number of participants in the recording.",
    "participants": (
        "JSON list of the participants (users, prospects, external people) with ids and names."
    ),
    "provider": "Meeting provider, e.g. zoom or teams.",
    "recordingUrl": "URL to view the recording.",
    "sourceId": (
        "Id in the source system: the call's id for calls, the calendar event's id for meetings."
    ),
    "startTime": "When the recording started.",
    "state": "Recording state: UNKNOWN, CREATED, STARTED, ENDED, DROPPED or DELETED.",
    "title": "Title of the recording; empty for untitled meetings.",
    "topics": "JSON of the topics discussed in the recording.",
    "transcriptUrl": "Short-lived URL of the transcript JSON (it expires after about two hours).",
}


ACTIVITY_FIELDS: Mapping[str, Mapping[str, str]] = {
    "call_dispositions": _CALL_DISPOSITIONS,
    "calls": _CALLS,
    "events": _EVENTS,
    "mailings": _MAILINGS,
    "tasks": _TASKS,
    "recipients": _RECIPIENTS,
    "task_dispositions": _TASK_DISPOSITIONS,
    "task_priorities": _TASK_PRIORITIES,
    "kaia_recordings": _KAIA_RECORDINGS,
}
