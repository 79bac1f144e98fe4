package main

import (
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/heepr/heepr/adapters/telemetry"
	"github.com/heepr/heepr/modules/webhooks"
)

// config is everything heepr reads from its environment. The README's
// configuration table lists the same names; keep them in step.
type config struct {
	Addr            string        // HEEPR_ADDR
	AdminAddr       string        // HEEPR_ADMIN_ADDR
	DatabaseURL     string        // DATABASE_URL
	DataDir         string        // HEEPR_DATA_DIR
	BaseURL         string        // HEEPR_BASE_URL
	SecretKey       string        // HEEPR_SECRET_KEY
	SMTPURL         string        // HEEPR_SMTP_URL
	MailFrom        string        // HEEPR_MAIL_FROM
	SupportEmail    string        // HEEPR_SUPPORT_EMAIL
	LogLevel        slog.Level    // HEEPR_LOG_LEVEL
	SessionIdle     time.Duration // HEEPR_SESSION_IDLE
	SessionAbsolute time.Duration // HEEPR_SESSION_MAX
	MaxBodyBytes    int64         // HEEPR_MAX_BODY_KB
	Workers         int           // HEEPR_WORKERS
	RateLimits      bool          // HEEPR_RATE_LIMITS
	StarterPoints   int64         // HEEPR_STARTER_POINTS
	PlatformFeeBPS  int           // HEEPR_PLATFORM_FEE_BPS
	ReviewReward    int64         // HEEPR_REVIEW_REWARD_POINTS
	MaxUploadBytes  int64         // HEEPR_MAX_UPLOAD_MB
	ReviewWindow    time.Duration // HEEPR_REVIEW_WINDOW
	S3URL           string        // HEEPR_S3_URL
	WebhookAllow    string        // HEEPR_WEBHOOK_ALLOW
}

func loadConfig(getenv func(string) string) (config, error) {
	c := config{
		Addr:         or(getenv("HEEPR_ADDR"), ":8080"),
		AdminAddr:    getenv("HEEPR_ADMIN_ADDR"),
		DatabaseURL:  getenv("DATABASE_URL"),
		DataDir:      or(getenv("HEEPR_DATA_DIR"), "./data"),
		SecretKey:    getenv("HEEPR_SECRET_KEY"),
		SMTPURL:      getenv("HEEPR_SMTP_URL"),
		MailFrom:     or(getenv("HEEPR_MAIL_FROM"), "heepr <no-reply@heepr.dev>"),
		SupportEmail: or(getenv("HEEPR_SUPPORT_EMAIL"), "support@heepr.dev"),
		S3URL:        getenv("HEEPR_S3_URL"),
		WebhookAllow: getenv("HEEPR_WEBHOOK_ALLOW"),
	}
	c.BaseURL = strings.TrimRight(or(getenv("HEEPR_BASE_URL"), defaultBaseURL(c.Addr)), "/")
	var errs []string
	var err error
	if c.LogLevel, err = telemetry.ParseLevel(getenv("HEEPR_LOG_LEVEL")); err != nil {
		errs = append(errs, "HEEPR_LOG_LEVEL: "+err.Error())
	}
	dur := func(name string, def time.Duration) time.Duration {
		v := getenv(name)
		if v == "" {
			return def
		}
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			errs = append(errs, name+": want a positive duration such as 24h")
			return def
		}
		return d
	}
	num := func(name string, def int) int {
		v := getenv(name)
		if v == "" {
			return def
		}
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			errs = append(errs, name+": want a positive whole number")
			return def
		}
		return n
	}
	// count reads a whole number in [0, max].
	count := func(name string, def, max int) int {
		v := getenv(name)
		if v == "" {
			return def
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > max {
			errs = append(errs, fmt.Sprintf("%s: want a whole number from 0 to %d", name, max))
			return def
		}
		return n
	}
	c.StarterPoints = int64(count("HEEPR_STARTER_POINTS", 1000, 1_000_000))
	c.PlatformFeeBPS = count("HEEPR_PLATFORM_FEE_BPS", 0, 10_000)
	c.ReviewReward = int64(count("HEEPR_REVIEW_REWARD_POINTS", 10, 1_000_000))
	c.SessionIdle = dur("HEEPR_SESSION_IDLE", 7*24*time.Hour)
	c.SessionAbsolute = dur("HEEPR_SESSION_MAX", 30*24*time.Hour)
	c.MaxBodyBytes = int64(num("HEEPR_MAX_BODY_KB", 1024)) << 10
	c.Workers = num("HEEPR_WORKERS", 20)
	c.MaxUploadBytes = int64(count("HEEPR_MAX_UPLOAD_MB", 100, 10_240)) << 20
	if c.MaxUploadBytes == 0 {
		errs = append(errs, "HEEPR_MAX_UPLOAD_MB: want at least 1")
	}
	c.ReviewWindow = dur("HEEPR_REVIEW_WINDOW", 72*time.Hour)
	switch strings.ToLower(getenv("HEEPR_RATE_LIMITS")) {
	case "", "on", "true", "1":
		c.RateLimits = true
	case "off", "false", "0":
	default:
		errs = append(errs, "HEEPR_RATE_LIMITS: want on or off")
	}
	if _, err := webhooks.ParseAllow(c.WebhookAllow); err != nil {
		errs = append(errs, "HEEPR_WEBHOOK_ALLOW: "+err.Error())
	}
	if c.SecretKey != "" && len(c.SecretKey) < 32 {
		errs = append(errs, "HEEPR_SECRET_KEY: want at least 32 characters")
	}
	if len(errs) > 0 {
		return c, fmt.Errorf("configuration: %s", strings.Join(errs, "; "))
	}
	return c, nil
}

func defaultBaseURL(addr string) string {
	if strings.HasPrefix(addr, ":") {
		return "http://localhost" + addr
	}
	return "http://" + addr
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
