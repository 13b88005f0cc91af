"""Column descriptions of the CRM streams' attributes: companies, people, deals.

Keyed by stream name, then attribute name. ``descriptions`` reads these before its shared
``COMMON`` table, so an entry here is for a name that means something specific in its stream
(or that only the stream has).
"""

from collections.abc import Mapping

_ACCOUNTS: Mapping[str, str] = {
    "annualRevenueRange": "Band the company's annual revenue falls in.",
    "buyerIntentScore": "Score rating the quality of the account as a potential buyer.",
    "companyType": "Kind of company, e.g. Public Company.",
    "customId": "Your own id for the account, often its id in another system such as a CRM.",
    "domain": "Website domain of the company, e.g. www.acme.com.",
    "followers": "Number of social-media followers listed for the company.",
    "foundedAt": "When the company was founded.",
    "industry": "The company's industry, e.g. Manufacturing.",
    "linkedInEmployees": "Number of employees shown on the company's LinkedIn page.",
    "linkedInUrl": "URL of the company's LinkedIn page.",
    "locality": "The company's main geographic region, e.g. Eastern USA.",
    "naicsCodes": "NAICS codes classifying the company's industry.",
    "name": "Name of the company, e.g. Acme Corporation.",
    "named": "Whether it is a named account; only those are listed in Outreach's account index.",
    "naturalName": "The short everyday name of the company, e.g. Acme.",
    "numberOfEmployees": "Number of people working at the company.",
    "sicCodes": "SIC codes classifying the company's business activities.",
    "tickerSymbol": "Stock ticker symbol of the company.",
    "websiteUrl": "URL of the company's website.",
}

_EMAIL_ADDRESSES: Mapping[str, str] = {
    "email": "The email address itself.",
    "emailType": "Kind of address: work or personal.",
    "order": "Position of the address in the prospect's list of email addresses.",
    "status": "Outreach's current status of the address.",
    "unsubscribedAt": "When a mailing was unsubscribed from through this address.",
}

_OPPORTUNITIES: Mapping[str, str] = {
    "amount": "What the opportunity is worth, as a whole number in its currency.",
    "amountPrecise": "What the opportunity is worth, exactly, as decimal text.",
    "closeDate": "When the opportunity is expected to close.",
    "currencyType": "ISO code of the opportunity's currency, e.g. USD.",
    "externalCreatedAt": "When the opportunity was created in the external system, e.g. the CRM.",
    "externalUpdatedAt": "When the opportunity was last updated in the external system.",
    "forecastCategory": "Forecast category used to predict whether the deal will close.",
    "leadSource": "Where the opportunity came from, e.g. Advertisement or Trade Show.",
    "lostReason": "Why the deal was lost.",
    "mapLink": "Link to the opportunity's SamePlan mutual action plan (MAP).",
    "mapNextSteps": "Next milestone of the mutual action plan that is not done yet.",
    "mapStatus": "How well both sides are keeping to the mutual action plan.",
    "name": "Name of the opportunity.",
    "nextStep": "The next step to take on the opportunity.",
    "opportunityType": "Type of the opportunity, as your organisation defines types.",
    "probability": "Chance of winning the opportunity, in percent.",
    "prospectingRepId": "Id, as text, of the sales rep prospecting the opportunity.",
    "recordType": "Record type classifying the opportunity, e.g. Opportunity, Lead or Deal.",
    "touchedAt": "When something last happened on the opportunity.",
}

_OPPORTUNITY_STAGES: Mapping[str, str] = {
    "isClosed": "Whether opportunities in this stage are closed rather than open.",
}

_PROSPECTS: Mapping[str, str] = {
    "addedAt": "When the prospect was first added to any system.",
    "addressCity": "City of the prospect's address.",
    "addressCountry": "Country of the prospect's address.",
    "addressState": "State or province of the prospect's address.",
    "addressStreet": "Street line of the prospect's address.",
    "addressStreet2": "Second street line of the prospect's address, if any.",
    "addressZip": "Postal code of the prospect's address.",
    "angelListUrl": "URL of the prospect's AngelList profile.",
    "availableAt": "When the prospect may be contacted again.",
    "callOptedOut": (
        "Whether the prospect opted out of calls (or of everything, without granular opt-out)."
    ),
    "callsOptStatus": (
        "Whether the prospect opted in to or out of calls: opted_in, opted_out or empty."
    ),
    "callsOptedAt": "When the prospect last opted in to or out of calls.",
    "campaignName": "Name of the campaign the prospect is linked to.",
    "clickCount": "Link clicks by the prospect since the last touch point.",
    "company": "Name of the prospect's company; the account's name when linked to an account.",
    "contactHistogram": (
        "The [inbound, outbound] email counts of each of the last 12 months, current month last; "
        "dropped unless kept."
    ),
    "dateOfBirth": "The prospect's date of birth.",
    "degree": "Degrees the prospect holds.",
    "emailOptedOut": (
        "Whether the prospect opted out of email (or of everything, without granular opt-out)."
    ),
    "emails": "The prospect's email addresses.",
    "emailsOptStatus": (
        "Whether the prospect opted in to or out of email: opted_in, opted_out or empty."
    ),
    "emailsOptedAt": "When the prospect last opted in to or out of email.",
    "engagedAt": "When the prospect last engaged with your outreach.",
    "engagedScore": (
        "Lead-quality score Outreach derives from the prospect's opens, clicks and replies."
    ),
    "eventName": "Name of the event where the prospect was met.",
    "externalId": "Your own id for the prospect, often its id in another system such as a CRM.",
    "externalOwner": "Owner of the prospect in an external system, as text.",
    "facebookUrl": "URL of the prospect's Facebook profile.",
    "gender": "The prospect's gender.",
    "githubUrl": "URL of the prospect's GitHub profile.",
    "githubUsername": "The prospect's GitHub username.",
    "googlePlusUrl": "URL of the prospect's Google+ profile.",
    "graduationDate": "When the prospect graduated.",
    "homePhones": "The prospect's home phone numbers.",
    "jobStartDate": "When the prospect started the current job.",
    "linkedInConnections": "Number of connections on the prospect's LinkedIn profile.",
    "linkedInId": "The prospect's LinkedIn id.",
    "linkedInSlug": "The prospect's LinkedIn slug, the last part of the profile URL.",
    "linkedInUrl": "URL of the prospect's LinkedIn profile.",
    "middleName": "The prospect's middle name.",
    "mobilePhones": "The prospect's mobile phone numbers.",
    "name": "The prospect's full name.",
    "nickname": "The prospect's nickname.",
    "occupation": "The prospect's occupation, e.g. Purchasing Manager.",
    "openCount": "Email opens by the prospect since the last touch point.",
    "optedOut": "Whether the prospect is opted out of all mailings.",
    "optedOutAt": "When the prospect opted out of emails.",
    "otherPhones": "The prospect's other phone numbers.",
    "personalNote1": "Free-text note field about the prospect.",
    "personalNote2": "Second free-text note field about the prospect.",
    "preferredContact": "How the prospect prefers to be contacted.",
    "quoraUrl": "URL of the prospect's Quora profile.",
    "region": "The prospect's main geographic region.",
    "replyCount": "Replies from the prospect since the last touch point.",
    "school": "Schools the prospect attended.",
    "score": "Your organisation's own score of the prospect as a lead.",
    "smsOptStatus": (
        "Whether the prospect opted in to or out of text messages: opted_in, opted_out or empty."
    ),
    "smsOptedAt": "When the prospect last opted in to or out of text messages.",
    "smsOptedOut": "Whether the prospect opted out of text messages (SMS).",
    "source": "Where the lead was first acquired, as your organisation records it.",
    "specialties": "The prospect's specialties.",
    "stackOverflowId": "The prospect's Stack Overflow id.",
    "stackOverflowUrl": "URL of the prospect's Stack Overflow profile.",
    "timeZone": "The prospect's time zone, preferably an IANA name such as America/Los_Angeles.",
    "timeZoneIana": "The prospect's IANA time zone, when known.",
    "timeZoneInferred": "The IANA time zone Outreach inferred for the prospect, when known.",
    "title": "The prospect's job title.",
    "twitterUrl": "URL of the prospect's Twitter profile.",
    "twitterUsername": "The prospect's Twitter username.",
    "voipPhones": "The prospect's VoIP phone numbers.",
    "websiteUrl1": "URL of the prospect's website.",
    "websiteUrl2": "Second website URL of the prospect.",
    "websiteUrl3": "Third website URL of the prospect.",
    "workPhones": "The prospect's work phone numbers.",
}

_OPPORTUNITY_PROSPECT_ROLES: Mapping[str, str] = {
    "primary": "Whether the prospect is the opportunity's primary contact.",
    "role": "The prospect's role in the opportunity.",
}

_PHONE_NUMBERS: Mapping[str, str] = {
    "countryCode": "Country of the number, as a code such as US.",
    "extension": "Extension to dial after the number.",
    "number": "The phone number, e.g. +14155550100.",
    "order": "Position of the number in the prospect's list of phone numbers.",
    "phoneType": "Kind of phone: mobile, work, home, voip or other.",
    "rawNumber": "The number as entered, unformatted.",
    "status": "Outreach's current status of the number.",
}

_PRODUCTS: Mapping[str, str] = {
    "classification": "Kind of product: Own, Competitor or Complimentary.",
    "code": "Unique code of the product.",
    "deleted": "Whether the product was deleted.",
    "productFamily": "Product family the product belongs to.",
    "status": "Whether the product is active.",
    "unitOfMeasure": "Unit the product is sold in, e.g. kilograms or cases.",
    "website": "URL of the product's website.",
}

_PURCHASES: Mapping[str, str] = {
    "currency": "Currency of the purchase's values.",
    "endDate": "When the contract ends.",
    "potentialQuantity": "Net quantity the account could potentially buy.",
    "potentialValue": "Net revenue the account could potentially bring.",
    "saturation": "Contracted quantity as a percentage of the potential quantity.",
    "source": "How the purchase record got into Outreach: by hand, through the API or otherwise.",
    "startDate": "When the contract starts.",
    "status": "Whether the purchase is active.",
    "totalQuantity": "Net quantity under contract; at most the potential quantity.",
    "totalValue": "Net revenue currently sold.",
}


CRM_FIELDS: Mapping[str, Mapping[str, str]] = {
    "accounts": _ACCOUNTS,
    "email_addresses": _EMAIL_ADDRESSES,
    "opportunities": _OPPORTUNITIES,
    "opportunity_stages": _OPPORTUNITY_STAGES,
    "prospects": _PROSPECTS,
    "opportunity_prospect_roles": _OPPORTUNITY_PROSPECT_ROLES,
    "phone_numbers": _PHONE_NUMBERS,
    "products": _PRODUCTS,
    "purchases": _PURCHASES,
}
