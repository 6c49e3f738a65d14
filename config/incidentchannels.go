package config

// IncidentChannels are the channels an incident's thread may be put in
// (incident open --channel, the incident form's channel field): the
// incident channel, the channels commands are allowed in, the configured
// subscriptions' channels, and here (the channel the command came from,
// "" for none), in that order without repeats. A channel named nowhere in
// the configuration is unknown to opsbot and refused.
func (c *Config) IncidentChannels(here string) []string {
	seen := map[string]bool{}
	var out []string
	add := func(ch string) {
		if ch != "" && !seen[ch] {
			seen[ch] = true
			out = append(out, ch)
		}
	}
	add(c.Channels.Incident)
	for _, ch := range c.Channels.Allow {
		add(ch)
	}
	for _, s := range c.Channels.Subscriptions {
		add(s.Channel)
	}
	add(here)
	return out
}
