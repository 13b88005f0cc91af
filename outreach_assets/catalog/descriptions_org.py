"""Column descriptions of the organisation streams' attributes: users, teams, mailboxes.

Keyed by stream name, then attribute name. ``descriptions`` reads these before its shared
``COMMON`` table, so an entry here is for a name that means something specific in its stream
(or that only the stream has).
"""

from collections.abc import Mapping

_DUTIES: Mapping[str, str] = {
    "dutyType": "Kind of duty, as Outreach types duties.",
    "symbolicName": "Constant naming the duty, which Outreach's apps translate for display.",
}

_MAILBOXES: Mapping[str, str] = {
    "authId": "Id of the authorisation the mailbox uses.",
    "editable": "Whether the user may edit the mailbox's settings.",
    "email": "Email address of the mailbox.",
    "emailProvider": "Mail service provider, e.g. gmail_api, office365_oauth2 or exchange_online.",
    "emailSignature": "Default HTML signature added to emails sent from the mailbox.",
    "ewsEndpoint": "URL of the Exchange Web Services (EWS) endpoint.",
    "ewsSslVerifyMode": (
        "SSL verification of the EWS connection: 0 none, 1 peer, 2 fail without peer cert, 4 "
        "client once."
    ),
    "exchangeVersion": "Version of the Exchange server, e.g. Exchange2013.",
    "imapHost": "IMAP server used for syncing, e.g. imap.gmail.com.",
    "imapPort": "Port of the IMAP server.",
    "imapSsl": "Whether the IMAP connection uses SSL.",
    "maxEmailsPerDay": "Most emails in and out per day.",
    "maxMailingsPerDay": "Most emails Outreach may send from the mailbox per day.",
    "maxMailingsPerWeek": "Most emails Outreach may send from the mailbox per week.",
    "optOutMessage": "Message on the page shown after clicking an email's unsubscribe link.",
    "optOutSignature": "HTML below the signature when the sequence needs an unsubscribe link.",
    "prospectEmailExclusions": "Address patterns, one a line, excluded from syncing.",
    "providerId": "Id of the provider linked to the mailbox.",
    "providerType": "Type of the email provider.",
    "sendDisabled": "Whether sending from the mailbox is disabled.",
    "sendErroredAt": "When sending last failed.",
    "sendMaxRetries": "Most automatic retries of a failed delivery.",
    "sendMethod": "How email is sent: ews, sendgrid or smtp.",
    "sendPeriod": "Seconds in which at most sendThreshold emails may be sent.",
    "sendRequiresSync": "Whether the mailbox must have synced recently before it sends.",
    "sendSuccessAt": "When an email was last sent successfully.",
    "sendThreshold": "Most emails sent per sendPeriod.",
    "sendgridWebhookUrl": "Endpoint to set in SendGrid for bounce and spam-report tracking.",
    "smtpHost": "SMTP server used for sending, e.g. smtp.gmail.com.",
    "smtpPort": "Port of the SMTP server.",
    "smtpSsl": "Whether the SMTP connection uses SSL.",
    "smtpUsername": "SMTP user name, when sending uses an account other than the mailbox's own.",
    "syncActiveFrequency": "Seconds between syncs while the user is active in Outreach.",
    "syncDisabled": "Whether syncing of the mailbox is disabled.",
    "syncErroredAt": "When syncing last failed.",
    "syncFinishedAt": "When the last sync finished.",
    "syncMethod": "How email is synced: ews, gmail_api or imap.",
    "syncOutreachFolder": (
        "Whether syncing reads a folder named Outreach instead of the inbox (Exchange 2007 SP1 "
        "only)."
    ),
    "syncPassiveFrequency": "Seconds between syncs while the user is not active in Outreach.",
    "syncSuccessAt": "When a sync last succeeded.",
    "username": "User name of the email account, usually the email address.",
    "validateSend": "Whether saving the mailbox requires it to be able to send.",
    "validateSync": "Whether saving the mailbox requires it to be able to sync.",
}

_USERS: Mapping[str, str] = {
    "accountsViewId": "Id of the user's default smart view on the accounts list.",
    "activityNotificationsDisabled": "Whether the user's activity notifications are turned off.",
    "bounceWarningEmailEnabled": "Whether the user gets bounce warning emails.",
    "bridgePhone": "Phone number of the user's outbound bridge phone.",
    "bridgePhoneExtension": "Extension of the user's outbound bridge phone.",
    "callsViewId": "Id of the user's default smart view on the calls list.",
    "controlledTabDefault": "Tab the task flow opens on by default for the user.",
    "currentSignInAt": "When the user signed in most recently.",
    "dailyDigestEmailEnabled": "Whether the user gets the daily digest email.",
    "duties": "JSON list of the user's work roles (duties).",
    "email": "The user's email address; the API cannot change it.",
    "enableVoiceRecordings": "Whether voice recordings are on for the user.",
    "engagementEmailsEnabled": "Whether the user gets engagement emails.",
    "inboundBridgePhone": "Phone number of the user's inbound bridge phone.",
    "inboundBridgePhoneExtension": "Extension of the user's inbound bridge phone.",
    "inboundCallBehavior": "What happens to inbound calls: inbound_bridge or inbound_voicemail.",
    "inboundPhoneType": "Phone used for inbound calls: bridge, voip or bridge_and_voip.",
    "inboundVoicemailCustomMessageText": "Greeting read to callers who reach the user's voicemail.",
    "inboundVoicemailMessageTextVoice": "Voice that reads the voicemail greeting: man or woman.",
    "inboundVoicemailPromptType": "Kind of voicemail greeting: automated, recorded or off.",
    "kaiaRecordingsViewId": "Id of the user's default smart view on the Kaia recordings list.",
    "keepBridgePhoneConnected": "Whether the bridge phone stays connected between outbound calls.",
    "lastSignInAt": "When the user signed in before the most recent sign-in.",
    "locked": "Whether the user is locked out of Outreach.",
    "mailboxErrorEmailEnabled": "Whether the user gets emails about mailbox errors.",
    "meetingEngagementNotificationEnabled": (
        "Whether the user gets meeting engagement notifications."
    ),
    "name": "The user's full name.",
    "notificationsEnabled": "Whether the user's notifications are turned on.",
    "oceClickToDialEverywhere": (
        "Whether phone numbers in other apps (Salesforce, Gmail, LinkedIn, ...) dial through "
        "Outreach."
    ),
    "oceGmailToolbar": "Whether the Outreach toolbar in Gmail is turned on.",
    "oceGmailTrackingState": "The user's email tracking setting in Outreach Everywhere for Gmail.",
    "oceSalesforceEmailDecorating": (
        "Whether Outreach Everywhere adds its email actions in Salesforce."
    ),
    "oceSalesforcePhoneDecorating": (
        "Whether Outreach Everywhere adds its call actions in Salesforce."
    ),
    "oceUniversalTaskFlow": "Whether Outreach Everywhere's universal task flow is turned on.",
    "oceWindowMode": "Whether Outreach Everywhere runs in window mode.",
    "onboardedAt": "When the user was onboarded.",
    "opportunitiesViewId": "Id of the user's default smart view on the opportunities list.",
    "passwordExpiresAt": "When the user's current password expires.",
    "phoneCountryCode": "Country code of the user's phone.",
    "phoneNumber": "Number of the user's phone.",
    "phoneType": "Phone used for outbound calls: bridge or voip.",
    "pluginAlertNotificationEnabled": "Whether the user gets notifications about plugin errors.",
    "preferredVoiceRegion": "Twilio data-centre region the user's calls connect through.",
    "prefersLocalPresence": "Whether the user's calls should come from a local phone number.",
    "primaryTimezone": "The user's main time zone.",
    "prospectsViewId": "Id of the user's default smart view on the prospects list.",
    "reportsTeamPerfViewId": "Id of the user's default smart view on the team performance report.",
    "reportsViewId": "Id of the user's default smart view on the reports page.",
    "secondaryTimezone": "The user's second time zone.",
    "senderNotificationsExcluded": "Whether the user is left out of sender notifications.",
    "tasksViewId": "Id of the user's default smart view on the tasks list.",
    "teamsViewId": "Id of the user's default smart view on the teams list.",
    "tertiaryTimezone": "The user's third time zone.",
    "textingEmailNotifications": "Whether the user gets an email when a text message is missed.",
    "title": "The user's job title.",
    "unknownReplyEmailEnabled": "Whether the user gets Outreach's unknown-reply emails.",
    "userGuid": "Globally unique id (GUID) of the user.",
    "username": "Readable unique handle of the user.",
    "usersViewId": "Id of the user's default smart view on the users list.",
    "voicemailNotificationEnabled": "Whether the user gets voicemail notifications.",
    "weeklyDigestEmailEnabled": "Whether the user gets the weekly digest email.",
}

_FAVORITES: Mapping[str, str] = {
    "targetType": "Type of the favorited record, e.g. prospect or sequence.",
}

_ROLES: Mapping[str, str] = {
    "externalId": "Permanent identifier of the role, which never changes.",
}

_PROFILES: Mapping[str, str] = {
    "isAdmin": "Whether the profile grants admin access.",
    "specialId": "Marker of Outreach's built-in profiles, e.g. admin or default.",
}

_MAIL_ALIASES: Mapping[str, str] = {
    "canSend": "Whether email can be sent from the alias.",
    "email": "The alias email address.",
}


ORG_FIELDS: Mapping[str, Mapping[str, str]] = {
    "duties": _DUTIES,
    "mailboxes": _MAILBOXES,
    "users": _USERS,
    "favorites": _FAVORITES,
    "roles": _ROLES,
    "profiles": _PROFILES,
    "mail_aliases": _MAIL_ALIASES,
}
