package plan

import (
	"fmt"
	"reflect"
	"testing"
	"time"
)

// These tests fill every field of the entry types by reflection, so that a
// field added to a type but forgotten in Copy, Merge or Equal fails here.

// fill sets v, recursively, to a non-zero value derived from seed.
func fill(v reflect.Value, seed int) {
	switch v.Kind() {
	case reflect.String:
		v.SetString(fmt.Sprintf("s%d", seed))
	case reflect.Int, reflect.Int64:
		if v.Type() == reflect.TypeFor[time.Duration]() {
			v.SetInt(int64(time.Duration(seed+1) * time.Second))
		} else {
			v.SetInt(int64(seed + 1))
		}
	case reflect.Uint64:
		v.SetUint(uint64(seed + 1))
	case reflect.Float64:
		v.SetFloat(float64(seed) + 1.5)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		fill(p.Elem(), seed)
		v.Set(p)
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 1, 1)
		fill(s.Index(0), seed)
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k := reflect.New(v.Type().Key()).Elem()
		fill(k, seed)
		e := reflect.New(v.Type().Elem()).Elem()
		fill(e, seed)
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.Struct:
		for i := range v.NumField() {
			fill(v.Field(i), seed)
		}
	default:
		panic("fill: unhandled kind " + v.Kind().String())
	}
}

// scribble changes v in place, through its pointers, maps and slices, so
// that a copy that shares memory with v changes too.
func scribble(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			scribble(v.Elem())
		}
	case reflect.Slice:
		for i := range v.Len() {
			scribble(v.Index(i))
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			e := reflect.New(v.Type().Elem()).Elem()
			fill(e, 77)
			v.SetMapIndex(k, e)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			scribble(v.Field(i))
		}
	case reflect.Bool:
		v.SetBool(!v.Bool())
	default:
		fill(v, 77)
	}
}

// leafPaths lists the field index paths of every leaf of a struct type,
// descending into nested structs and pointers to structs; a pointer to a
// struct is also listed as a leaf of its own (it can be nil).
func leafPaths(t reflect.Type, prefix []int) [][]int {
	var paths [][]int
	for i := range t.NumField() {
		path := append(append([]int(nil), prefix...), i)
		ft := t.Field(i).Type
		switch {
		case ft.Kind() == reflect.Struct:
			paths = append(paths, leafPaths(ft, path)...)
		case ft.Kind() == reflect.Pointer && ft.Elem().Kind() == reflect.Struct:
			paths = append(paths, path)
			paths = append(paths, leafPaths(ft.Elem(), path)...)
		default:
			paths = append(paths, path)
		}
	}
	return paths
}

// fieldAt follows path from the struct v, through pointers.
func fieldAt(v reflect.Value, path []int) (reflect.Value, string) {
	name := ""
	for _, i := range path {
		if v.Kind() == reflect.Pointer {
			v = v.Elem()
		}
		name += "." + v.Type().Field(i).Name
		v = v.Field(i)
	}
	return v, name
}

type entryType[T any] interface {
	*T
	Copy() *T
	Merge(*T)
	Equal(*T) bool
}

func newFilled[T any](seed int) *T {
	v := new(T)
	fill(reflect.ValueOf(v).Elem(), seed)
	return v
}

func testEntryMethods[T any, P entryType[T]](t *testing.T) {
	t.Run(reflect.TypeFor[T]().Name(), func(t *testing.T) {
		full := newFilled[T](1)

		// Copy is deep and complete.
		c := P(full).Copy()
		if !reflect.DeepEqual(c, full) {
			t.Errorf("Copy lost fields:\n got  %#v\n want %#v", c, full)
		}
		scribble(reflect.ValueOf(c))
		if !reflect.DeepEqual(full, newFilled[T](1)) {
			t.Errorf("Copy shares memory with the original")
		}

		// Merge into an empty entry transfers every field (Name and
		// Override are kept by the receiver, so start from those).
		merged := new(T)
		for _, f := range []string{"Name", "Override"} {
			if fv := reflect.ValueOf(merged).Elem().FieldByName(f); fv.IsValid() {
				fv.Set(reflect.ValueOf(full).Elem().FieldByName(f))
			}
		}
		P(merged).Merge(full)
		if !reflect.DeepEqual(merged, full) {
			t.Errorf("Merge lost fields:\n got  %#v\n want %#v", merged, full)
		}
		scribble(reflect.ValueOf(merged))
		if !reflect.DeepEqual(full, newFilled[T](1)) {
			t.Errorf("Merge result shares memory with its argument")
		}

		// Merging a zero entry changes nothing.
		kept := P(full).Copy()
		P(kept).Merge(new(T))
		if !reflect.DeepEqual(kept, full) {
			t.Errorf("Merge of an empty entry changed fields:\n got  %#v\n want %#v", kept, full)
		}

		// Merge replaces every set scalar and extends lists and maps.
		other := newFilled[T](2)
		both := P(full).Copy()
		P(both).Merge(other)
		for _, path := range leafPaths(reflect.TypeFor[T](), nil) {
			got, name := fieldAt(reflect.ValueOf(both).Elem(), path)
			orig, _ := fieldAt(reflect.ValueOf(full).Elem(), path)
			if name == ".Name" || name == ".Override" {
				continue
			}
			if got.Kind() == reflect.Pointer && got.Type().Elem().Kind() == reflect.Struct {
				continue
			}
			if reflect.DeepEqual(got.Interface(), orig.Interface()) && got.Kind() != reflect.Bool {
				t.Errorf("Merge ignored %s", name)
			}
		}

		// Equal sees every leaf.
		if !P(full).Equal(P(full).Copy()) {
			t.Errorf("Equal is false for a copy")
		}
		for _, path := range leafPaths(reflect.TypeFor[T](), nil) {
			changed := P(full).Copy()
			f, name := fieldAt(reflect.ValueOf(changed).Elem(), path)
			switch {
			case f.Kind() == reflect.Bool:
				f.SetBool(!f.Bool())
			default:
				fill(f, 99)
			}
			if P(full).Equal(changed) {
				t.Errorf("Equal ignores %s", name)
			}
			if f.Kind() == reflect.Pointer || f.Kind() == reflect.Map || f.Kind() == reflect.Slice {
				f.Set(reflect.Zero(f.Type()))
				if P(full).Equal(changed) {
					t.Errorf("Equal ignores %s being nil", name)
				}
			}
		}
	})
}

func TestEntryMethodsHandleEveryField(t *testing.T) {
	testEntryMethods[Service](t)
	testEntryMethods[Check](t)
	testEntryMethods[LogTarget](t)
	testEntryMethods[Workload](t)
	testEntryMethods[HTTPCheck](t)
	testEntryMethods[TCPCheck](t)
	testEntryMethods[ExecCheck](t)
}

func TestLayerCopyIsDeep(t *testing.T) {
	l := newFilled[Layer](1)
	c := l.Copy()
	if !reflect.DeepEqual(c, l) {
		t.Fatalf("Layer.Copy lost fields")
	}
	scribble(reflect.ValueOf(c))
	if !reflect.DeepEqual(l, newFilled[Layer](1)) {
		t.Errorf("Layer.Copy shares memory with the original")
	}
}

func TestEqualTreatsNilAndEmptyAlike(t *testing.T) {
	a := &Service{Name: "a", Environment: map[string]string{}, After: []string{}}
	b := &Service{Name: "a"}
	if !a.Equal(b) {
		t.Errorf("nil and empty collections should be equal")
	}
	if !WorkloadsEqual(nil, map[string]*Workload{}) {
		t.Errorf("nil and empty workloads sections should be equal")
	}
	if WorkloadsEqual(nil, map[string]*Workload{"w": {Name: "w"}}) {
		t.Errorf("adding a workload is a change")
	}
}
