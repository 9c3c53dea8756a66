package kube

import (
	"fmt"
	"os"
	"path"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// testManifest returns the test's copy of deploy/kubernetes/pod.yaml,
// changed only where Debian's podman 4.3 differs from Kubernetes, and to
// use the test's own names and charm:
//
//   - the pod and images get the test's names (images under imagePrefix);
//   - restartPolicy becomes OnFailure: podman gives init containers the
//     pod's policy, and an init container that restarts never lets the pod
//     start; the charm container then runs once;
//   - podman ignores subPath, so every subPath becomes a volume of its own
//     (a mount of a parent subPath becomes mounts of the volumes under it);
//   - podman runs httpGet probes as curl inside the container, which our
//     FROM scratch images do not have: the probes are dropped, and the
//     charm asks the same URLs from its container instead;
//   - with --network none podman refuses container ports: they are
//     dropped (the pod's containers share its loopback);
//   - the charm container runs the test's charm program.
func testManifest(t *testing.T, shipped []byte, podName, imagePrefix string) []byte {
	t.Helper()
	var pod map[string]any
	require.NoError(t, yaml.Unmarshal(shipped, &pod))
	spec := pod["spec"].(map[string]any)
	pod["metadata"].(map[string]any)["name"] = podName
	spec["restartPolicy"] = "OnFailure"

	containers := append(asList(spec["initContainers"]), asList(spec["containers"])...)
	subPaths := map[string]bool{}
	for _, c := range containers {
		for _, m := range asList(c["volumeMounts"]) {
			if sp, ok := m["subPath"].(string); ok {
				subPaths[sp] = true
			}
		}
	}
	// Only the leaves hold files: a subPath with others under it is mounted
	// as those others.
	leaves := map[string]bool{}
	for sp := range subPaths {
		leaves[sp] = true
		for other := range subPaths {
			if strings.HasPrefix(other, sp+"/") {
				leaves[sp] = false
			}
		}
	}
	var volumes []any
	for sp, leaf := range leaves {
		if leaf {
			volumes = append(volumes, map[string]any{"name": volumeName(sp), "emptyDir": map[string]any{}})
		}
	}
	spec["volumes"] = volumes

	for _, c := range containers {
		image := c["image"].(string)
		c["image"] = imagePrefix + strings.TrimPrefix(image, "localhost/pebble-")
		for _, key := range []string{"livenessProbe", "readinessProbe", "startupProbe", "ports"} {
			delete(c, key)
		}
		var mounts []any
		for _, m := range asList(c["volumeMounts"]) {
			sp := m["subPath"].(string)
			for leaf, isLeaf := range leaves {
				if !isLeaf || (leaf != sp && !strings.HasPrefix(leaf, sp+"/")) {
					continue
				}
				mount := map[string]any{
					"name":      volumeName(leaf),
					"mountPath": path.Join(m["mountPath"].(string), strings.TrimPrefix(leaf, sp)),
				}
				if ro, ok := m["readOnly"]; ok {
					mount["readOnly"] = ro
				}
				mounts = append(mounts, mount)
			}
		}
		c["volumeMounts"] = mounts
		if c["name"] == "charm" {
			c["image"] = imagePrefix + "charm:latest"
			c["command"] = []string{"/charm-test"}
		}
	}
	out, err := yaml.Marshal(pod)
	require.NoError(t, err)
	return out
}

func asList(v any) []map[string]any {
	var list []map[string]any
	items, _ := v.([]any)
	for _, item := range items {
		list = append(list, item.(map[string]any))
	}
	return list
}

// volumeName turns a subPath into a volume name ("charm/bin" → "charm-bin").
func volumeName(subPath string) string {
	return strings.ReplaceAll(subPath, "/", "-")
}

// TestManifest checks the shipped manifest has the shape the issue asks
// for (Juju's), and that the test's rewrite of it keeps the mounts the
// containers share.
func TestManifest(t *testing.T) {
	shipped, err := os.ReadFile("../../deploy/kubernetes/pod.yaml")
	require.NoError(t, err)
	var pod struct {
		Spec struct {
			TerminationGracePeriodSeconds int         `yaml:"terminationGracePeriodSeconds"`
			InitContainers                []container `yaml:"initContainers"`
			Containers                    []container
		}
	}
	require.NoError(t, yaml.Unmarshal(shipped, &pod))
	require.Equal(t, 30, pod.Spec.TerminationGracePeriodSeconds)
	require.Len(t, pod.Spec.InitContainers, 1)
	require.Equal(t, "charm-init", pod.Spec.InitContainers[0].Name)
	require.True(t, pod.Spec.InitContainers[0].mounts("/charm/bin"), "charm-init mounts /charm/bin")
	require.Equal(t, map[string]string{
		"PEBBLE":           "/charm/bin",
		"PEBBLE_COPY_ONCE": "/injector",
		"PEBBLE_PERSIST":   "never",
	}, pod.Spec.InitContainers[0].env())

	var workload *container
	for i := range pod.Spec.Containers {
		if pod.Spec.Containers[i].Name == "workload" {
			workload = &pod.Spec.Containers[i]
		}
	}
	require.NotNil(t, workload)
	require.Equal(t, []string{"/charm/bin/pebble"}, workload.Command)
	require.Equal(t, []string{"run", "--create-dirs", "--hold", "--http", ":38813", "--verbose"}, workload.Args)
	require.Equal(t, map[string]string{
		"PEBBLE":              "/charm/container/pebble",
		"PEBBLE_SOCKET":       "/charm/container/pebble.socket",
		"PEBBLE_COPY_ONCE":    "/var/lib/pebble/default",
		"JUJU_CONTAINER_NAME": "workload",
	}, workload.env())
	for probe, level := range map[string]string{"liveness": "alive", "readiness": "ready"} {
		p := workload.probe(probe)
		require.NotNil(t, p, probe)
		require.Equal(t, "/v1/health?level="+level, p.HTTPGet.Path, probe)
		require.Equal(t, 38813, p.HTTPGet.Port, probe)
		require.Equal(t, 5, p.PeriodSeconds, probe)
		require.Equal(t, 1, p.TimeoutSeconds, probe)
	}
	startup := workload.probe("startup")
	require.NotNil(t, startup)
	require.Equal(t, 1, startup.PeriodSeconds)
	require.Equal(t, 30, startup.FailureThreshold)

	// The rewrite gives the charm's /charm/containers/workload and the
	// workload's /charm/container one volume.
	rewritten := testManifest(t, shipped, "p", "localhost/x-")
	var got struct {
		Spec struct{ Containers []container }
	}
	require.NoError(t, yaml.Unmarshal(rewritten, &got))
	vols := map[string]string{}
	for _, c := range got.Spec.Containers {
		for _, m := range c.VolumeMounts {
			vols[c.Name+":"+m.MountPath] = m.Name
		}
	}
	require.Equal(t, vols["charm:/charm/containers/workload"], vols["workload:/charm/container"], fmt.Sprint(vols))
	require.Equal(t, vols["charm:/charm/bin"], vols["workload:/charm/bin"], fmt.Sprint(vols))
	require.NotEqual(t, vols["charm:/charm/bin"], vols["workload:/charm/container"], fmt.Sprint(vols))
}

type container struct {
	Name         string
	Command      []string
	Args         []string
	Env          []struct{ Name, Value string }
	VolumeMounts []struct {
		Name      string
		MountPath string `yaml:"mountPath"`
		SubPath   string `yaml:"subPath"`
	} `yaml:"volumeMounts"`
	LivenessProbe  *probe `yaml:"livenessProbe"`
	ReadinessProbe *probe `yaml:"readinessProbe"`
	StartupProbe   *probe `yaml:"startupProbe"`
}

type probe struct {
	HTTPGet struct {
		Path string
		Port int
	} `yaml:"httpGet"`
	PeriodSeconds    int `yaml:"periodSeconds"`
	TimeoutSeconds   int `yaml:"timeoutSeconds"`
	FailureThreshold int `yaml:"failureThreshold"`
}

func (c *container) probe(kind string) *probe {
	return map[string]*probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe, "startup": c.StartupProbe}[kind]
}

func (c *container) env() map[string]string {
	env := map[string]string{}
	for _, e := range c.Env {
		env[e.Name] = e.Value
	}
	return env
}

// mounts says whether the container mounts a volume at mountPath.
func (c *container) mounts(mountPath string) bool {
	for _, m := range c.VolumeMounts {
		if m.MountPath == mountPath {
			return true
		}
	}
	return false
}
