package locale

// Catalog holds every fixed text of Slack nudges and digests in one
// language. Texts with verbs are fmt formats; their arguments are named
// in each field's comment, and every language uses the same verbs in the
// same order (a test checks it). Texts are mrkdwn-safe: they contain no
// &, < or >.
type Catalog struct {
	// Headline is a nudge's headline when its rule has no title nor
	// description: the account name (%s).
	Headline string
	// LineTrend is part of a nudge's default line: the revenue change
	// (%s, a Percent) against the previous 12 months.
	LineTrend string
	// LineRevenue replaces LineTrend when there was no revenue in the
	// previous 12 months: the revenue (%s, Money) of the last 12.
	LineRevenue string
	// LineActivity says when the account was last active: a duration
	// (%s, Days).
	LineActivity string
	// LineActiveToday replaces LineActivity for an account active today.
	LineActiveToday string
	// Colon separates a label from what follows: ": " in English, " : "
	// with a no-break space in French.
	Colon string

	// Labels of a nudge's figures.
	LabelRevenue, LabelTrend, LabelABC, LabelInactive, LabelPurchase, LabelOwner string
	// TrendVs is the trend field: the change (%s).
	TrendVs string
	// TrendNone is the trend field without previous revenue.
	TrendNone string
	// Ago is a duration in the past (%s, Days).
	Ago string
	// Never is the last purchase of an account that never bought.
	Never string
	// NotAvailable stands for a figure that cannot be computed.
	NotAvailable string
	// ContactToCall introduces the contact a rep should call.
	ContactToCall string
	// FooterRule and FooterSeverity are the nudge's footer: the rule's
	// name (%s) and its severity (%s).
	FooterRule, FooterSeverity string

	// Buttons and menu options.
	Snooze, Contacted, ViewInCRM string

	// Resolved is the default note when a flag stops holding: the account
	// (%s, bold already) and the rule (%s).
	Resolved string

	// DigestMine counts the accounts of a rep's own digest (%d): One for
	// 1, Other for any other number.
	DigestMineOne, DigestMineOther string
	// DigestChannel counts the accounts of a digest posted in a channel
	// (%d).
	DigestChannelOne, DigestChannelOther string
	// DigestPart numbers the accounts of one message of a split digest:
	// first (%d) and last (%d).
	DigestPart string
	// DigestClass is an account's ABC class (%s).
	DigestClass string
	// DigestInactive is how long an account has been inactive (%s, Days).
	DigestInactive string
	// DigestOwner names the account's owner (%s, a mention).
	DigestOwner string
	// DigestFooter explains the order and the menus of a digest.
	DigestFooter string

	// Day and Days are the unit of Days.
	Day, Days string
}

var english = Catalog{
	Headline:        "Client needs attention: %s",
	LineTrend:       "revenue %s vs the previous 12 months",
	LineRevenue:     "revenue %s over the last 12 months",
	LineActivity:    "last activity %s ago",
	LineActiveToday: "active today",
	Colon:           ": ",

	LabelRevenue:   "Revenue 12m",
	LabelTrend:     "Trend",
	LabelABC:       "ABC class",
	LabelInactive:  "Days inactive",
	LabelPurchase:  "Last purchase",
	LabelOwner:     "Owner",
	TrendVs:        "%s vs previous 12m",
	TrendNone:      "n/a (no revenue in the previous 12m)",
	Ago:            "%s ago",
	Never:          "never",
	NotAvailable:   "n/a",
	ContactToCall:  "Contact to call:",
	FooterRule:     "Rule: %s",
	FooterSeverity: "Severity: %s",

	Snooze:    "Snooze 30 days",
	Contacted: "Mark as contacted",
	ViewInCRM: "View in CRM",

	Resolved: ":white_check_mark: %s is no longer flagged: the condition of %s stopped holding.",

	DigestMineOne:      "%d of your clients needs attention",
	DigestMineOther:    "%d of your clients need attention",
	DigestChannelOne:   "%d client needs attention",
	DigestChannelOther: "%d clients need attention",
	DigestPart:         "(%d–%d)",
	DigestClass:        "class %s",
	DigestInactive:     "%s inactive",
	DigestOwner:        "owner: %s",
	DigestFooter:       "Sorted by revenue at risk. Each account's ⋯ menu snoozes it for 30 days, marks it as contacted or opens it in the CRM.",

	Day:  "day",
	Days: "days",
}

var french = Catalog{
	Headline:        "Client à suivre\u00a0: %s",
	LineTrend:       "chiffre d'affaires %s par rapport aux 12 mois précédents",
	LineRevenue:     "chiffre d'affaires de %s sur les 12 derniers mois",
	LineActivity:    "dernière activité il y a %s",
	LineActiveToday: "actif aujourd'hui",
	Colon:           "\u00a0: ",

	LabelRevenue:   "CA 12 mois",
	LabelTrend:     "Tendance",
	LabelABC:       "Classe ABC",
	LabelInactive:  "Jours sans activité",
	LabelPurchase:  "Dernier achat",
	LabelOwner:     "Responsable",
	TrendVs:        "%s par rapport aux 12 mois précédents",
	TrendNone:      "n.d. (pas de CA sur les 12 mois précédents)",
	Ago:            "il y a %s",
	Never:          "jamais",
	NotAvailable:   "n.d.",
	ContactToCall:  "Contact à appeler\u00a0:",
	FooterRule:     "Règle\u00a0: %s",
	FooterSeverity: "Gravité\u00a0: %s",

	Snooze:    "Mettre en pause 30 jours",
	Contacted: "Marquer comme contacté",
	ViewInCRM: "Voir dans le CRM",

	Resolved: ":white_check_mark: %s n'est plus signalé\u00a0: la condition de %s n'est plus remplie.",

	DigestMineOne:      "%d de vos clients est à suivre",
	DigestMineOther:    "%d de vos clients sont à suivre",
	DigestChannelOne:   "%d client à suivre",
	DigestChannelOther: "%d clients à suivre",
	DigestPart:         "(%d–%d)",
	DigestClass:        "classe %s",
	DigestInactive:     "inactif depuis %s",
	DigestOwner:        "responsable\u00a0: %s",
	DigestFooter:       "Triés par chiffre d'affaires en jeu. Le menu ⋯ de chaque compte permet de le mettre en pause 30 jours, de le marquer comme contacté ou de l'ouvrir dans le CRM.",

	Day:  "jour",
	Days: "jours",
}

// DigestCount is a digest's header count of n accounts: a rep's own
// ("8 of your clients need attention") or a channel's ("8 clients need
// attention").
func (c *Catalog) DigestCount(n int, channel bool) string {
	one, other := c.DigestMineOne, c.DigestMineOther
	if channel {
		one, other = c.DigestChannelOne, c.DigestChannelOther
	}
	if n == 1 || n == -1 {
		return sprintf(one, n)
	}
	return sprintf(other, n)
}
