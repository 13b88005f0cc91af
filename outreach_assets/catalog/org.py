"""The Outreach organisation itself: users, teams, mailboxes, duties."""

from outreach_assets.catalog.model import Replication, Stream, fields, links, many, rels

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
        links_only=links("mailAliases mailings"),
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
        to_many=many(
            "contentCategories:contentCategory favorites:favorite roleAssignedUsers:user "
            "teamMemberships:teamMembership teamRecords:teamRecord users:user"
        ),
        links_only=links("batches"),
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
        to_many=many(
            "contentCategories:contentCategory contentCategoryOwnerships:contentCategoryOwnership "
            "directAssignedTeams:team favorites:favorite mailboxes:mailbox "
            "outboundVoicemails:outboundVoicemail phones:phone recipients:recipient "
            "roleAssignedTeams:team teams:team voicemailPrompts:voicemailPrompt"
        ),
        links_only=links("batches"),
        description="The Outreach users (reps, managers, admins) and their settings.",
    ),
    Stream(
        name="favorites",
        path="favorites",
        json_type="favorite",
        replication=Replication.INCREMENTAL,
        cursor="updatedAt",
        fields=fields(
            s="targetType",
            ts="createdAt updatedAt",
        ),
        relationships=rels("creator:user target:account user:user"),
        description="Records (prospects, accounts, sequences, ...) that users marked as favorites.",
    ),
    Stream(
        name="roles",
        path="roles",
        json_type="role",
        replication=Replication.INCREMENTAL,
        cursor="updatedAt",
        fields=fields(
            s="externalId name",
            ts="createdAt updatedAt",
        ),
        relationships=rels("parentRole:role"),
        to_many=many("childRoles:role"),
        description="The organisation's role hierarchy users belong to.",
    ),
    Stream(
        name="profiles",
        path="profiles",
        json_type="profile",
        replication=Replication.INCREMENTAL,
        cursor="updatedAt",
        fields=fields(
            s="name specialId",
            b="isAdmin",
            ts="createdAt updatedAt",
        ),
        description="Permission profiles that control what users can see and do.",
    ),
    Stream(
        name="mail_aliases",
        path="mailAliases",
        json_type="mailAlias",
        replication=Replication.INCREMENTAL,
        cursor="updatedAt",
        fields=fields(
            s="email emailHash",
            b="canSend",
            ts="createdAt updatedAt",
        ),
        relationships=rels("mailbox:mailbox"),
        description="Alternative sender addresses of mailboxes.",
    ),
)
