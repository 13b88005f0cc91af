"""Companies, people and deals: accounts, prospects and what hangs off them."""

from outreach_assets.catalog.model import Replication, Stream, fields, links, many, rels

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
        to_many=many(
            "assignedTeams:team assignedUsers:user favorites:favorite recordTeamMembers:user "
            "recordTeams:team"
        ),
        links_only=links("batches prospects purchases tasks"),
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
        to_many=many(
            "assignedTeams:team assignedUsers:user favorites:favorite "
            "opportunityHealthFactors:opportunityHealthFactor "
            "opportunityLineItems:opportunityLineItem"
        ),
        links_only=links("prospects"),
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
        links_only=links("opportunities"),
        description="The pipeline stages an opportunity moves through.",
    ),
    Stream(
        name="personas",
        path="personas",
        json_type="persona",
        replication=Replication.INCREMENTAL,
        cursor="updatedAt",
        fields=fields(s="description name", ts="createdAt updatedAt"),
        links_only=links("prospects"),
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
        to_many=many(
            "activeSequenceStates:sequenceState assignedTeams:team assignedUsers:user "
            "emailAddresses:emailAddress favorites:favorite opportunities:opportunity "
            "opportunityProspectRoles:opportunityProspectRole phoneNumbers:phoneNumber"
        ),
        links_only=links("batches calls mailings sequenceStates tasks"),
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
        links_only=links("prospects"),
        description="The lifecycle stages a prospect can be in.",
    ),
    Stream(
        name="account_notes",
        path="accountNotes",
        json_type="accountNote",
        replication=Replication.INCREMENTAL,
        cursor="createdAt",
        fields=fields(
            s="message noteType",
            b="pinned",
            ts="createdAt",
        ),
        relationships=rels("account:account creator:user opportunity:opportunity"),
        description=(
            "Notes reps wrote on accounts; incremental on createdAt, the only filterable "
            "timestamp (an edited note is not seen again)."
        ),
    ),
    Stream(
        name="prospect_notes",
        path="prospectNotes",
        json_type="prospectNote",
        replication=Replication.INCREMENTAL,
        cursor="createdAt",
        fields=fields(
            s="message noteType",
            b="pinned",
            ts="createdAt",
        ),
        relationships=rels("creator:user opportunity:opportunity prospect:prospect"),
        description=(
            "Notes reps wrote on prospects; incremental on createdAt, the only filterable "
            "timestamp (an edited note is not seen again)."
        ),
    ),
    Stream(
        name="opportunity_prospect_roles",
        path="opportunityProspectRoles",
        json_type="opportunityProspectRole",
        replication=Replication.INCREMENTAL,
        cursor="updatedAt",
        fields=fields(
            s="role",
            b="primary",
            ts="createdAt updatedAt",
        ),
        relationships=rels("opportunity:opportunity prospect:prospect"),
        description="Which prospects take part in which opportunity, and in which role.",
    ),
    Stream(
        name="phone_numbers",
        path="phoneNumbers",
        json_type="phoneNumber",
        replication=Replication.INCREMENTAL,
        cursor="updatedAt",
        fields=fields(
            s="countryCode extension number phoneType rawNumber status",
            i="order",
            ts="createdAt statusChangedAt updatedAt",
        ),
        relationships=rels("prospect:prospect"),
        description="Prospects' phone numbers with their type and status.",
    ),
    Stream(
        name="products",
        path="products",
        json_type="product",
        replication=Replication.INCREMENTAL,
        cursor="updatedAt",
        fields=fields(
            s="classification code description name productFamily unitOfMeasure website",
            b="deleted status",
            ts="createdAt updatedAt",
            custom=150,
        ),
        relationships=rels("creator:user owner:user updater:user"),
        links_only=links("purchases"),
        description="The products an admin maintains, with all 150 custom fields.",
    ),
    Stream(
        name="purchases",
        path="purchases",
        json_type="purchase",
        replication=Replication.INCREMENTAL,
        cursor="updatedAt",
        fields=fields(
            s="currency description source",
            n="potentialQuantity potentialValue saturation totalQuantity totalValue",
            b="status",
            ts="createdAt updatedAt",
            d="endDate startDate",
            custom=150,
        ),
        relationships=rels("account:account creator:user owner:user product:product updater:user"),
        description=(
            "Products an account has bought, with quantities, values and all 150 custom fields."
        ),
    ),
)
