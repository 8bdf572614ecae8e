package files

// DamagedError is a file that exists but does not decode: truncated,
// altered after it was written, or not in the format it should be. Its
// Error is one line: the path, what is wrong, and what to do about it.
type DamagedError struct {
	Path   string // the file
	Detail string // what is wrong, without the path
	Advice string // what to do about it
}

func (e *DamagedError) Error() string { return e.Problem() + ": " + e.Advice }

// Problem is the error without its advice, for a caller that acts on the
// damage itself (a resumed run scores the file's work again) and says so.
func (e *DamagedError) Problem() string { return e.Path + ": " + e.Detail }
