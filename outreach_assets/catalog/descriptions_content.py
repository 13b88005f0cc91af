"""Column descriptions of the content streams' attributes: sequences, templates, snippets.

Keyed by stream name, then attribute name. ``descriptions`` reads these before its shared
``COMMON`` table, so an entry here is for a name that means something specific in its stream
(or that only the stream has).
"""

from collections.abc import Mapping

_CONTENT_CATEGORIES: Mapping[str, str] = {
    "allowSequences": "Whether the category can group sequences.",
    "allowSnippets": "Whether the category can group snippets.",
    "allowTemplates": "Whether the category can group templates.",
}

_SEQUENCE_STATES: Mapping[str, str] = {
    "activeAt": "When the sequence state was last active.",
    "callCompletedAt": "When a call was last completed in this sequence state.",
    "errorReason": "Why the sequence state last ran into an error.",
    "pauseReason": "Why the sequence state was last paused.",
    "repliedAt": "When a mailing of this sequence state last got a reply.",
    "state": (
        "The prospect's state in the sequence, e.g. active, paused, pending, finished, failed or "
        "bounced."
    ),
}

_SEQUENCE_STEPS: Mapping[str, str] = {
    "date": "Day the step activates; date-based sequences only.",
    "displayName": "Readable name made of the step's type and position.",
    "interval": "Seconds until the step activates; interval-based sequences only.",
    "order": "Position of the step within its sequence.",
    "stepType": "Kind of step: auto_email, manual_email, call or task.",
    "taskAutoskipDelay": (
        "Seconds after the step's tasks fall overdue before they are skipped automatically."
    ),
    "taskNote": "Optional note put on the tasks the step creates.",
}

_SEQUENCE_TEMPLATES: Mapping[str, str] = {
    "isReply": "Whether the template is sent as a reply in the thread rather than as a new thread.",
}

_SEQUENCES: Mapping[str, str] = {
    "automationPercentage": "Share of the sequence's steps that are automatic emails, in percent.",
    "durationInDays": "Number of days it takes to go through the whole sequence.",
    "finishOnReply": "Deprecated: true when primaryReplyAction is finish.",
    "locked": "Whether the sequence is locked.",
    "lockedAt": "When the sequence was locked; empty while unlocked.",
    "maxActivations": "Most prospects the sequence can hold; date-based sequences only.",
    "numContactedProspects": "Number of prospects who have been called or emailed.",
    "numRepliedProspects": "Number of prospects marked as replied.",
    "primaryReplyAction": (
        "What happens when the primary prospect replies: finish, continue or pause."
    ),
    "primaryReplyPauseDuration": (
        "Seconds to pause, before finishing, after the primary prospect replies, if the action is "
        "pause."
    ),
    "salesMotion": "Sales engagement type of the sequence.",
    "scheduleIntervalType": "How step intervals are counted: calendar or schedule.",
    "secondaryReplyAction": (
        "What happens when anyone but the primary prospect replies: finish, continue or pause."
    ),
    "secondaryReplyPauseDuration": (
        "Seconds to pause, before finishing, after anyone else replies, if the action is pause."
    ),
    "sequenceStepCount": "Number of steps in the sequence.",
    "sequenceType": "How the steps are timed: date or interval.",
    "throttleCapacity": "Most sequence states a user can have active in the sequence at once.",
    "throttleMaxAddsPerDay": "Most sequence states a user can add to the sequence per day.",
    "throttlePaused": "Whether throttling of the sequence's states is paused.",
    "throttlePausedAt": "When throttling was paused; empty when it is not paused.",
    "transactional": (
        "Whether prospects' opt-outs are ignored; meant for non-marketing sequences only."
    ),
}

_SNIPPETS: Mapping[str, str] = {
    "shareType": "Who may see and use the snippet: private or shared.",
}

_TEMPLATES: Mapping[str, str] = {
    "archived": "Whether the template is archived.",
    "archivedAt": "When the template was archived.",
    "bccRecipients": "Default bcc recipients of the template, as name and address pairs.",
    "ccRecipients": "Default cc recipients of the template, as name and address pairs.",
    "toRecipients": "Default to recipients of the template, as name and address pairs.",
}

_RULESETS: Mapping[str, str] = {
    "applyCompletedStageIn": (
        "Seconds after the sequence completes before the completed stage is given to the prospect."
    ),
    "autoResumeOotoProspects": (
        "Whether prospects paused as out of the office are resumed automatically."
    ),
    "autoResumeOotoProspectsExpiresIn": (
        "Longest wait, in seconds, before an out-of-office prospect is resumed."
    ),
    "autoResumeOotoProspectsIn": (
        "Default wait, in seconds, before out-of-office prospects are resumed."
    ),
    "callOptOutAction": "Whether prospects opted out of calls can be added to sequences.",
    "clicksNeededBeforeCallTaskCreated": (
        "Email clicks after which a call task is created automatically; off when empty."
    ),
    "emailOptOutAction": "Whether prospects opted out of email can be added to sequences.",
    "includeUnsubscribeLinks": "Whether emails include an unsubscribe link.",
    "meetingBookedAction": (
        "Whether a prospect is finished in the sequence once a meeting is booked."
    ),
    "minimumProspectTouchedInterval": (
        "Seconds since a prospect was last contacted before they may be added; off when empty."
    ),
    "ootoAutoExtractionEnabled": (
        "Whether return dates are read automatically from out-of-office replies."
    ),
    "opensNeededBeforeCallTaskCreated": (
        "Email opens after which a call task is created automatically; off when empty."
    ),
    "permitDuplicateProspects": (
        "Whether a prospect can be added to the same sequence again: allow, disallow or "
        "only_if_inactive."
    ),
    "sequenceExclusivity": (
        "Whether prospects can be in several sequences at once: all_sequences, exclusive_sequences "
        "or none."
    ),
    "smsOptOutAction": "Whether prospects opted out of text messages can be added to sequences.",
    "smsReceivedAction": (
        "Whether a prospect is finished in the sequence once a text message from them arrives."
    ),
    "stepOverridesEnabled": (
        "Whether users may customise step templates when adding prospects to a sequence."
    ),
}


CONTENT_FIELDS: Mapping[str, Mapping[str, str]] = {
    "content_categories": _CONTENT_CATEGORIES,
    "sequence_states": _SEQUENCE_STATES,
    "sequence_steps": _SEQUENCE_STEPS,
    "sequence_templates": _SEQUENCE_TEMPLATES,
    "sequences": _SEQUENCES,
    "snippets": _SNIPPETS,
    "templates": _TEMPLATES,
    "rulesets": _RULESETS,
}
