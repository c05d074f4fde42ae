package store

// TenantLifecycle stores tenant cancellation and the purge of what
// outlived its retention (R11, R13).
type TenantLifecycle interface {
}
