// Package kizuna holds the domain of Kizuna, a self-hostable business chat
// and member directory: tenants, domains, accounts, the rule that decides
// who is internal and who is external (R3), and the application error type.
//
// This package imports no database, HTTP or messaging code. Storage engines
// (sqlite, postgres), the service layer (service) and the HTTP API (httpapi)
// are built around it and import it; it imports none of them.
package kizuna
