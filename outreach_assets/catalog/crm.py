"""Companies, people and deals: accounts, prospects and what hangs off them."""

from outreach_assets.catalog.model import Replication, Stream, fields, rels

CRM_STREAMS: tuple[Stream, ...] = (
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
            # Outreach's API reference declares these three as format "date" (Mage: date-time).
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
        name="stages",
        path="stages",
        json_type="stage",
        replication=Replication.INCREMENTAL,
        cursor="updatedAt",
        fields=fields(s="color name", i="order", ts="createdAt updatedAt"),
        relationships=rels("creator:user updater:user"),
        description="The lifecycle stages a prospect can be in.",
    ),
)
