package kernels

// AvailableImpls returns, for the external tests, the names of the
// implementations this CPU can run, generic first.
func AvailableImpls() []string {
	var names []string
	for _, im := range impls {
		if im.available {
			names = append(names, im.name)
		}
	}
	return names
}

// UseImpl makes the named implementation the current one until restore is
// called. Tests using it must not run in parallel.
func UseImpl(name string) (restore func()) {
	saved := cur
	for _, im := range impls {
		if im.name == name {
			cur = im
		}
	}
	return func() { cur = saved }
}
