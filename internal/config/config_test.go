package config

import (
	"testing"

	"github.com/stretchr/testify/require"
)

const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

func TestLoadServer(t *testing.T) {
	t.Setenv("ANIMUS_WEBHOOK_SECRET", " "+secret+" , whsec_c2Vjb25k ")
	c, err := LoadServer()
	require.NoError(t, err)
	require.Equal(t, []string{secret, "whsec_c2Vjb25k"}, c.Secrets)
	require.Equal(t, ":8080", c.HTTPAddr)
	require.Equal(t, "animus-media", c.TaskQueue)
	require.EqualValues(t, 1<<20, c.MaxBodyBytes)
}

func TestLoadServerErrors(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"no secret", map[string]string{}, "ANIMUS_WEBHOOK_SECRET"},
		{"empty secret", map[string]string{"ANIMUS_WEBHOOK_SECRET": ""}, "ANIMUS_WEBHOOK_SECRET"},
		{"only commas", map[string]string{"ANIMUS_WEBHOOK_SECRET": " , "}, "ANIMUS_WEBHOOK_SECRET"},
		{"bad body limit", map[string]string{"ANIMUS_WEBHOOK_SECRET": secret, "MAX_BODY_BYTES": "lots"}, "MAX_BODY_BYTES"},
		{"start timeout past Svix's", map[string]string{"ANIMUS_WEBHOOK_SECRET": secret, "START_TIMEOUT": "20s"}, "START_TIMEOUT"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("ANIMUS_WEBHOOK_SECRET", "")
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			if _, ok := tc.env["ANIMUS_WEBHOOK_SECRET"]; !ok {
				unsetenv(t, "ANIMUS_WEBHOOK_SECRET")
			}
			_, err := LoadServer()
			require.ErrorContains(t, err, tc.want)
			require.NotContains(t, err.Error(), "MfKQ9r8G", "errors never carry the secret")
		})
	}
}

func TestTemporalDefaults(t *testing.T) {
	t.Setenv("TEMPORAL_CONFIG_FILE", t.TempDir()+"/none.toml")
	t.Setenv("TEMPORAL_ADDRESS", "")
	t.Setenv("TEMPORAL_NAMESPACE", "")
	o, err := Temporal()
	require.NoError(t, err)
	require.Equal(t, DefaultTemporalAddress, o.HostPort)
	require.Equal(t, "default", o.Namespace)

	t.Setenv("TEMPORAL_ADDRESS", "temporal.internal:7233")
	t.Setenv("TEMPORAL_NAMESPACE", "media")
	o, err = Temporal()
	require.NoError(t, err)
	require.Equal(t, "temporal.internal:7233", o.HostPort)
	require.Equal(t, "media", o.Namespace)
}

func TestLoadWorkerDefaults(t *testing.T) {
	c, err := LoadWorker()
	require.NoError(t, err)
	require.Equal(t, DefaultDatabaseURL, c.DatabaseURL)
	require.Equal(t, "animus-media", c.TaskQueue)
}

func TestWorkerMetricsAddr(t *testing.T) {
	unsetenv(t, "WORKER_METRICS_ADDR")
	c, err := LoadWorker()
	require.NoError(t, err)
	require.Equal(t, ":9091", c.MetricsAddr, "default when unset")

	for value, want := range map[string]string{"": "", "off": "", "OFF": "", "127.0.0.1:9100": "127.0.0.1:9100", ":0": ":0"} {
		t.Setenv("WORKER_METRICS_ADDR", value)
		c, err := LoadWorker()
		require.NoError(t, err, "WORKER_METRICS_ADDR=%q", value)
		require.Equal(t, want, c.MetricsAddr, "WORKER_METRICS_ADDR=%q", value)
	}
	t.Setenv("WORKER_METRICS_ADDR", "9091")
	_, err = LoadWorker()
	require.ErrorContains(t, err, "WORKER_METRICS_ADDR")
}
