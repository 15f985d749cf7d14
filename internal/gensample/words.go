package gensample

// Word lists the sample is drawn from.
var (
	firstNames = []string{"Alice", "Bruno", "Chloé", "David", "Emma", "François", "Greta", "Hugo", "Inès", "Jonas",
		"Karim", "Léa", "Marco", "Nina", "Olivier", "Paula", "Quentin", "Rosa", "Samir", "Tina", "Ulrich", "Vera",
		"William", "Xavier", "Yuki", "Zoé", "Anna", "Ben", "Carla", "Daniel", "Elena", "Felix", "Hana", "Ivan",
		"Julia", "Kenji", "Laura", "Mehdi", "Noah", "Olga", "Pierre", "Sofia", "Thomas", "Valentina"}
	lastNames = []string{"Martin", "Bernard", "Dubois", "Müller", "Schmidt", "Schneider", "Smith", "Johnson",
		"Brown", "Garcia", "Rossi", "Tanaka", "Suzuki", "Nguyen", "Petit", "Durand", "Leroy", "Moreau", "Fischer",
		"Weber", "Wagner", "Becker", "Lopez", "Gonzalez", "Wilson", "Taylor", "Anderson", "Lefèvre", "Fontaine",
		"Kowalski", "Novak", "Jensen", "Larsen", "Costa", "Silva", "O'Brien", "Murphy", "Kelly", "Sato", "Kim"}
	companyHeads = []string{"Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Northwind", "Contoso",
		"Fabrikam", "Tailspin", "Wingtip", "Litware", "Proseware", "Adatum", "Lucerne", "Fourth Coffee", "Blue Yonder",
		"Alpine", "Coho", "Margie's", "Trey", "Woodgrove", "Vanarsdel", "Humongous", "Bellows", "Cyberdyne",
		"Soylent", "Tyrell", "Hooli", "Vandelay", "Massive Dynamic", "Aperture", "Black Mesa", "Oscorp", "Gringotts",
		"Monarch", "Sterling", "Duff", "Krusty", "Pied Piper"}
	companyCores = []string{"Logistics", "Foods", "Pharma", "Robotics", "Textiles", "Energy", "Software", "Consulting",
		"Motors", "Chemicals", "Media", "Retail", "Health", "Insurance", "Aerospace", "Labs", "Systems", "Industries",
		"Analytics", "Hotels", "Construction", "Telecom", "Security", "Packaging", "Biotech", "Furniture"}
	companySuffixes = []string{"SAS", "SA", "SARL", "GmbH", "AG", "Inc.", "LLC", "Ltd", "KK", "BV", "SpA", "Co."}
	industries      = []string{"manufacturing", "retail", "healthcare", "software", "logistics", "finance",
		"energy", "hospitality", "construction", "media", "education", "public sector"}
	timeZones = []string{"Europe/Paris", "Europe/Paris", "Europe/Berlin", "America/New_York",
		"America/Los_Angeles", "Asia/Tokyo", ""}
	titles = []string{"CEO", "CFO", "COO", "Head of Purchasing", "Procurement Manager", "IT Director",
		"Office Manager", "Operations Manager", "Sales Director", "Project Manager", "Buyer", "Assistant", ""}
	products = []string{"Annual licence", "Support plan", "Onboarding", "Consulting days", "Hardware",
		"Training", "Expansion seats", "Renewal", "Integration project", "Premium add-on"}
)

// hostileAccounts are account names, by account number, that must survive
// every renderer unescaped in the data and escaped on screen.
var hostileAccounts = map[int]string{
	7:   "<script>alert(1)</script> GmbH",
	42:  "<!channel> Corp",
	99:  "Smith & Sons <b>",
	123: "*Bold* Ltd",
	256: `"Quoted" SA`,
	512: "Müller & Söhne",
}

// hostileContacts are contact first and last names, by contact number.
var hostileContacts = map[int][2]string{
	11:   {"<script>", "alert(1)</script>"},
	77:   {"<!here>", "Everyone"},
	205:  {`"Bobby"`, "Tables'); DROP TABLE contacts;--"},
	333:  {"*Zoë*", "_Ünderscore_"},
	1234: {"<@U024BE7LH>", "Mention"},
	2048: {"李", "小龍"},
}
