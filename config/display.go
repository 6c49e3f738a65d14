package config

import "time"

// Display is how replies show what they show.
type Display struct {
	// Timezone is the one zone every displayed time is in (an IANA name
	// such as "Asia/Shanghai", or "Local" for the machine's); "" is UTC.
	Timezone string `yaml:"timezone"`
}

func (d Display) validate(p *Problems) {
	if d.Timezone == "" {
		return
	}
	if _, err := time.LoadLocation(d.Timezone); err != nil {
		p.add("display.timezone", "unknown time zone %q (an IANA name such as Asia/Shanghai, or UTC)", d.Timezone)
	}
}

// Zone is the location displayed times are in: the configured zone, else
// Asia/Shanghai when the locale is zh-CN, else UTC.
func (c *Config) Zone() *time.Location {
	if c != nil && c.Display.Timezone == "" && c.Locale == "zh-CN" {
		if loc, err := time.LoadLocation("Asia/Shanghai"); err == nil {
			return loc
		}
	}
	if c == nil || c.Display.Timezone == "" {
		return time.UTC
	}
	loc, err := time.LoadLocation(c.Display.Timezone)
	if err != nil { // Validate reported it
		return time.UTC
	}
	return loc
}
