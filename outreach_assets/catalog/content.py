"""Sequences and the content they send: steps, states, templates, snippets."""

from outreach_assets.catalog.model import Replication, Stream, fields, links, many, rels

# The delivery and reply counters Outreach keeps on everything a sequence sends.
_REPLY_COUNTS = (
    "bounceCount clickCount deliverCount failureCount negativeReplyCount neutralReplyCount "
    "openCount optOutCount positiveReplyCount replyCount scheduleCount"
)

CONTENT_STREAMS: tuple[Stream, ...] = (
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
        to_many=many("teams:team"),
        description="Folders that group sequences, snippets and templates.",
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
        to_many=many(
            "activeStepMailings:mailing activeStepTasks:task "
            "sequenceStateRecipients:sequenceStateRecipient"
        ),
        links_only=links("calls mailings tasks"),
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
            # ``date`` (the send date of "date" sequences): a plain string in Outreach's API
            # reference, a date in Mage's schema, a date-time in singer-io's; TIMESTAMP holds
            # both shapes without losing a time part.
            ts="createdAt date updatedAt",
        ),
        relationships=rels(
            "callPurpose:callPurpose creator:user schedule:schedule sequence:sequence "
            "taskPriority:taskPriority updater:user"
        ),
        to_many=many("sequenceTemplates:sequenceTemplate"),
        links_only=links("calls mailings tasks"),
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
        to_many=many(
            "contentCategoryMemberships:contentCategoryMembership sequenceSteps:sequenceStep"
        ),
        links_only=links("calls mailings sequenceStates tasks"),
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
        to_many=many("contentCategoryMemberships:contentCategoryMembership favorites:favorite"),
        description="Reusable pieces of email text reps insert into messages.",
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
        to_many=many(
            "attachments:attachment contentCategoryMemberships:contentCategoryMembership "
            "favorites:favorite recipients:recipient sequenceTemplates:sequenceTemplate"
        ),
        max_page_size=250,
        description=(
            "Reusable email templates; pages of 250 because bodyHtml makes 1000-row pages "
            "slow enough for Outreach to answer 502."
        ),
    ),
    Stream(
        name="content_category_memberships",
        path="contentCategoryMemberships",
        json_type="contentCategoryMembership",
        replication=Replication.INCREMENTAL,
        cursor="updatedAt",
        fields=fields(
            ts="createdAt updatedAt",
        ),
        relationships=rels("content:sequence contentCategory:contentCategory creator:user"),
        description="Which sequences, snippets and templates belong to which content category.",
    ),
    Stream(
        name="content_category_ownerships",
        path="contentCategoryOwnerships",
        json_type="contentCategoryOwnership",
        replication=Replication.INCREMENTAL,
        cursor="updatedAt",
        fields=fields(
            ts="createdAt updatedAt",
        ),
        relationships=rels("contentCategory:contentCategory creator:user owner:team"),
        description="Which teams own which content categories.",
    ),
    Stream(
        name="rulesets",
        path="rulesets",
        json_type="ruleset",
        replication=Replication.INCREMENTAL,
        cursor="updatedAt",
        fields=fields(
            s="callOptOutAction emailOptOutAction meetingBookedAction name "
            "permitDuplicateProspects sequenceExclusivity smsOptOutAction smsReceivedAction",
            i="applyCompletedStageIn autoResumeOotoProspectsExpiresIn autoResumeOotoProspectsIn "
            "clicksNeededBeforeCallTaskCreated minimumProspectTouchedInterval "
            "opensNeededBeforeCallTaskCreated",
            b="autoResumeOotoProspects includeUnsubscribeLinks ootoAutoExtractionEnabled "
            "stepOverridesEnabled",
            ts="createdAt updatedAt",
        ),
        relationships=rels(
            "bouncedStage:stage callTaskPriority:taskPriority "
            "callTaskPriorityFromClicks:taskPriority callTaskPriorityFromOpens:taskPriority "
            "completedStage:stage deliveredStage:stage finishedStage:stage optedOutStage:stage "
            "owner:user repliedStage:stage startedStage:stage"
        ),
        links_only=links("sequences"),
        description=(
            "Reusable sets of sequence behaviours (stage changes, opt-out actions, task "
            "priorities)."
        ),
    ),
)
