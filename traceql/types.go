package traceql

// Static types for parse-time checks. typeAny is an attribute: its type is
// only known per span, so it matches every operand type.
const typeAny ValueType = 0xff

func typeName(t ValueType) string {
	if t == typeAny {
		return "attribute"
	}
	return t.String()
}

func typeOf(e Expr) ValueType {
	switch e := e.(type) {
	case Value:
		return e.Type
	case Attribute:
		if e.IsIntrinsic() {
			return e.Type()
		}
		return typeAny
	case *BinaryExpr:
		return e.typ
	case *UnaryExpr:
		return e.typ
	case *Aggregate:
		switch e.Op {
		case AggregateCount:
			return TypeInt
		case AggregateAvg:
			if t := typeOf(e.Expr); t == TypeDuration || t == typeAny {
				return t
			}
			return TypeFloat
		}
		return typeOf(e.Expr)
	}
	return typeAny
}

func boolish(t ValueType) bool    { return t == TypeBool || t == typeAny }
func numericish(t ValueType) bool { return t == typeAny || t.numeric() }
func orderable(t ValueType) bool  { return numericish(t) || t == TypeString }

// compatible reports whether values of types a and b can be compared:
// same type, both numeric (int, float and duration compare as numbers), an
// attribute on either side, or nil on either side (for = and !=).
func compatible(a, b ValueType) bool {
	return a == b || a == typeAny || b == typeAny || (a.numeric() && b.numeric()) ||
		a == TypeNil || b == TypeNil
}

func arithType(op Op, a, b ValueType) ValueType {
	switch {
	case a == typeAny || b == typeAny:
		return typeAny
	case op == OpPow:
		return TypeFloat
	case a == TypeInt && b == TypeInt:
		return TypeInt
	case a == TypeDuration || b == TypeDuration:
		if a != TypeFloat && b != TypeFloat {
			return TypeDuration
		}
	}
	return TypeFloat
}

func isNilLiteral(e Expr) bool {
	v, ok := e.(Value)
	return ok && v.Type == TypeNil
}

// negate returns -v for numbers and durations, and nil otherwise.
func negate(v Value) Value {
	switch v.Type {
	case TypeInt, TypeDuration:
		v.Int = -v.Int
		return v
	case TypeFloat:
		v.Float = -v.Float
		return v
	}
	return Value{}
}
