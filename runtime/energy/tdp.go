package energy

import (
	"fmt"
	"regexp"
	"strings"
)

// tdpRule maps CPU brand strings to a full-load power. Watts is for the whole
// chip, or per logical CPU when PerCPU is set (server chips, of which a VM
// or a container sees a slice).
type tdpRule struct {
	re     *regexp.Regexp
	watts  float64
	perCPU bool
	what   string
}

// tdpRules are typical figures, not a database: the vendor's base TDP of a
// class of parts (Intel and AMD name the class in the model suffix), and for
// boards the power measured at full CPU load. First match wins. --tdp
// overrides them.
var tdpRules = []tdpRule{
	{regexp.MustCompile(`Raspberry Pi 5|Raspberry Pi 500|Compute Module 5`), 8, false, "Raspberry Pi 5 board at full CPU load, typical"},
	{regexp.MustCompile(`Raspberry Pi 4|Raspberry Pi 400|Compute Module 4`), 6, false, "Raspberry Pi 4 board at full CPU load, typical"},
	{regexp.MustCompile(`Raspberry Pi`), 4, false, "older Raspberry Pi board at full CPU load, typical"},
	{regexp.MustCompile(`(?i)Jetson`), 15, false, "Jetson module power mode, typical"},
	{regexp.MustCompile(`Core\(TM\) Ultra \d+ \d{3}H`), 28, false, "Intel Core Ultra H-series base power"},
	{regexp.MustCompile(`Core\(TM\) Ultra \d+ \d{3}V`), 17, false, "Intel Core Ultra V-series base power"},
	{regexp.MustCompile(`Core\(TM\) Ultra \d+ \d{3}U`), 15, false, "Intel Core Ultra U-series base power"},
	{regexp.MustCompile(`i[3579]-\d{4,5}[A-Z]*U\b`), 15, false, "Intel Core U-series base power"},
	{regexp.MustCompile(`i[3579]-\d{4,5}G\d`), 28, false, "Intel Core G-series (mobile) base power, upper bound"},
	{regexp.MustCompile(`i[3579]-\d{4,5}P\b`), 28, false, "Intel Core P-series base power"},
	{regexp.MustCompile(`i[3579]-\d{4,5}HX\b`), 55, false, "Intel Core HX-series base power"},
	{regexp.MustCompile(`i[3579]-\d{4,5}H[K]?\b`), 45, false, "Intel Core H-series base power"},
	{regexp.MustCompile(`i[3579]-\d{4,5}K[FS]?\b`), 125, false, "Intel Core K-series (desktop) base power"},
	{regexp.MustCompile(`i[3579]-\d{4,5}T\b`), 35, false, "Intel Core T-series (desktop) base power"},
	{regexp.MustCompile(`i[3579]-\d{4,5}F?\b`), 65, false, "Intel Core desktop base power"},
	{regexp.MustCompile(`Ryzen (AI )?[3579] (PRO )?\d{3,4}U`), 15, false, "AMD Ryzen U-series default TDP"},
	{regexp.MustCompile(`Ryzen (AI )?[3579] (PRO )?\d{3,4}HS`), 35, false, "AMD Ryzen HS-series default TDP"},
	{regexp.MustCompile(`Ryzen (AI )?[3579] (PRO )?\d{3,4}HX`), 55, false, "AMD Ryzen HX-series default TDP"},
	{regexp.MustCompile(`Ryzen (AI )?[3579] (PRO )?\d{3,4}H`), 45, false, "AMD Ryzen H-series default TDP"},
	{regexp.MustCompile(`Ryzen [3579] (PRO )?\d{4}X`), 105, false, "AMD Ryzen X-series (desktop) TDP"},
	{regexp.MustCompile(`Ryzen [3579] (PRO )?\d{4}`), 65, false, "AMD Ryzen desktop TDP"},
	{regexp.MustCompile(`Xeon|EPYC|Opteron|Neoverse|Graviton|Ampere`), 4, true, "server CPU, about a server chip's TDP / its hardware threads"},
}

// defaultPerCPU is the per-logical-CPU power of a CPU no rule knows.
const defaultPerCPU = 5.0

// GuessTDP returns the full-load power of all cpus logical CPUs of a CPU
// named brand, and a sentence saying where it comes from. In a virtual
// machine a whole-chip figure is not used: the VM sees a slice of a host
// chip, so the per-CPU server figure applies.
func GuessTDP(brand string, cpus int, vm bool) (float64, string) {
	brand = strings.Join(strings.Fields(brand), " ")
	for _, r := range tdpRules {
		if !r.re.MatchString(brand) {
			continue
		}
		if r.perCPU {
			return r.watts * float64(cpus), fmt.Sprintf("%g W per logical CPU x %d: %s, %q", r.watts, cpus, r.what, brand)
		}
		if vm {
			break
		}
		return r.watts, fmt.Sprintf("%s, %q", r.what, brand)
	}
	if vm {
		return 4 * float64(cpus), fmt.Sprintf("4 W per logical CPU x %d: a virtual machine's slice of a server CPU, %q", cpus, brand)
	}
	if brand == "" {
		brand = "unknown CPU"
	}
	return defaultPerCPU * float64(cpus), fmt.Sprintf("%g W per logical CPU x %d: %q is not in the table; give --tdp", defaultPerCPU, cpus, brand)
}
