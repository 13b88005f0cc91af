"""The Outreach organisation itself: users, teams, mailboxes, duties."""

from outreach_assets.catalog.model import Replication, Stream, fields, rels

ORG_STREAMS: tuple[Stream, ...] = (
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
        name="teams",
        path="teams",
        json_type="team",
        replication=Replication.INCREMENTAL,
        cursor="updatedAt",
        fields=fields(s="color name scimExternalId scimSource", ts="createdAt updatedAt"),
        relationships=rels("creator:user teamSettings:teamSettings updater:user"),
        description=(
            "Groups of users; incremental because Outreach's API reference marks updatedAt "
            "filterable and sortable (Mage's schema lacked it and fell back to full table)."
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
