package merge

// publicDomains are email and web-hosting domains shared by unrelated
// people and companies: an account whose domain is one of them says
// nothing about which company it is, so ByDomain never joins on them.
var publicDomains = map[string]bool{
	"gmail.com": true, "googlemail.com": true, "outlook.com": true, "outlook.fr": true,
	"hotmail.com": true, "hotmail.fr": true, "live.com": true, "live.fr": true, "msn.com": true,
	"yahoo.com": true, "yahoo.fr": true, "icloud.com": true, "me.com": true, "aol.com": true,
	"proton.me": true, "protonmail.com": true, "gmx.com": true, "gmx.fr": true, "gmx.de": true,
	"web.de": true, "orange.fr": true, "wanadoo.fr": true, "free.fr": true, "sfr.fr": true,
	"laposte.net": true, "bbox.fr": true, "neuf.fr": true, "yandex.com": true, "mail.com": true,
	"linkedin.com": true, "facebook.com": true, "wixsite.com": true, "sites.google.com": true,
}
