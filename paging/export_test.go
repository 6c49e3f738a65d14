package paging

import "crypto/tls"

// SetTLSConfig makes the SMTP client trust a test server's certificate.
func (p *Integrations) SetTLSConfig(c *tls.Config) { p.tlsConfig = c }
