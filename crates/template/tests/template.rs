//! Behaviour of the template language through the public API, table-driven.

use berth_template::{Template, TemplateError};
use serde_json::{json, Value};

fn data() -> Value {
    json!({
        "Name": "web",
        "ID": "0123456789abcdef",
        "Count": 3,
        "Zero": 0,
        "Ratio": 1.5,
        "Big": 12345678.0,
        "Empty": "",
        "Nil": null,
        "True": true,
        "False": false,
        "List": ["a", "b", "c"],
        "EmptyList": [],
        "Nums": [3, 1, 2],
        "Labels": {"zeta": "z", "alpha": "a", "mid": "m"},
        "Nested": {"Inner": {"Value": "deep"}},
        "Ports": [{"Host": 8080, "Proto": "tcp"}, {"Host": 53, "Proto": "udp"}],
        "HTML": "<a href=\"x\">&</a>",
        "Unicode": "héllo wörld",
    })
}

fn render(src: &str) -> Result<String, TemplateError> {
    Template::parse(src)?.render(&data())
}

fn check(cases: &[(&str, &str)]) {
    for (src, want) in cases {
        match render(src) {
            Ok(got) => assert_eq!(got, *want, "template {src:?}"),
            Err(e) => panic!("template {src:?} failed: {e}"),
        }
    }
}

fn check_err(cases: &[(&str, &str)]) {
    for (src, want) in cases {
        match render(src) {
            Ok(got) => panic!("template {src:?} should fail, rendered {got:?}"),
            Err(e) => assert_eq!(e.to_string(), *want, "template {src:?}"),
        }
    }
}

#[test]
fn fields_and_dot() {
    check(&[
        ("plain text", "plain text"),
        ("", ""),
        ("{{.Name}}", "web"),
        ("{{ .Name }}", "web"),
        ("{{.Nested.Inner.Value}}", "deep"),
        ("{{.Count}}", "3"),
        ("{{.Ratio}}", "1.5"),
        ("{{.Big}}", "1.2345678e+07"),
        ("{{.True}} {{.False}}", "true false"),
        ("{{.List}}", "[a b c]"),
        ("{{.Labels}}", "map[alpha:a mid:m zeta:z]"),
        ("{{.Nested}}", "map[Inner:map[Value:deep]]"),
        ("{{.Missing}}", "<no value>"),
        ("{{.Missing.Deeper}}", "<no value>"),
        ("{{.Nil}}", "<no value>"),
        ("{{.Nested.Inner.Missing}}", "<no value>"),
        ("{{.Labels.alpha}}", "a"),
        ("{{(index .Ports 0).Host}}", "8080"),
        ("{{with .Nested}}{{.Inner.Value}}{{end}}", "deep"),
        ("{{$}}", "map[Big:1.2345678e+07 Count:3 Empty: EmptyList:[] False:false HTML:<a href=\"x\">&</a> ID:0123456789abcdef Labels:map[alpha:a mid:m zeta:z] List:[a b c] Name:web Nested:map[Inner:map[Value:deep]] Nil:<nil> Nums:[3 1 2] Ports:[map[Host:8080 Proto:tcp] map[Host:53 Proto:udp]] Ratio:1.5 True:true Unicode:héllo wörld Zero:0]"),
    ]);
}

#[test]
fn dot_of_scalars_and_root() {
    let t = Template::parse("{{.}}|{{$}}").unwrap();
    assert_eq!(t.render(&json!("str")).unwrap(), "str|str");
    assert_eq!(t.render(&json!(42)).unwrap(), "42|42");
    assert_eq!(t.render(&json!(null)).unwrap(), "<no value>|<no value>");
    // Ranging over an object visits its values in key order.
    let t = Template::parse("{{range .}}{{$.N}}{{.}} {{end}}").unwrap();
    assert_eq!(t.render(&json!({"N": "x", "A": "y"})).unwrap(), "xy xx ");
    let t = Template::parse("{{range .L}}{{$.N}}{{.}} {{end}}").unwrap();
    assert_eq!(t.render(&json!({"N": "x", "L": [1, 2]})).unwrap(), "x1 x2 ");
}

#[test]
fn variables() {
    check(&[
        ("{{$x := .Name}}{{$x}}", "web"),
        ("{{$x := 1}}{{$x = 2}}{{$x}}", "2"),
        ("{{$x := .Nested.Inner}}{{$x.Value}}", "deep"),
        ("{{$x := 1}}{{if true}}{{$x = 5}}{{end}}{{$x}}", "5"),
        ("{{$x := 1}}{{if true}}{{$x := 5}}{{$x}}{{end}}{{$x}}", "51"),
        (
            "{{range $i, $e := .List}}{{$i}}={{$e}};{{end}}",
            "0=a;1=b;2=c;",
        ),
        ("{{range $e := .List}}{{$e}}{{end}}", "abc"),
        (
            "{{range $k, $v := .Labels}}{{$k}}:{{$v}},{{end}}",
            "alpha:a,mid:m,zeta:z,",
        ),
        ("{{with $n := .Name}}{{$n}}{{.}}{{end}}", "webweb"),
        ("{{if $c := .Count}}{{$c}}{{end}}", "3"),
    ]);
}

#[test]
fn conditionals() {
    check(&[
        ("{{if .True}}yes{{end}}", "yes"),
        ("{{if .False}}yes{{else}}no{{end}}", "no"),
        (
            "{{if .Empty}}a{{else if .Zero}}b{{else if .List}}c{{else}}d{{end}}",
            "c",
        ),
        ("{{if .Nil}}a{{else}}b{{end}}", "b"),
        ("{{if .Missing}}a{{else}}b{{end}}", "b"),
        ("{{if .EmptyList}}a{{else}}b{{end}}", "b"),
        ("{{if .Labels}}a{{end}}", "a"),
        ("{{if .Ratio}}a{{end}}", "a"),
        ("{{if 0}}a{{else}}b{{end}}", "b"),
        ("{{if \"\"}}a{{else}}b{{end}}", "b"),
        ("{{with .Missing}}a{{else}}b{{end}}", "b"),
        ("{{with .Empty}}a{{else with .Name}}{{.}}{{end}}", "web"),
        ("{{if and .True .Name}}{{and .True .Name}}{{end}}", "web"),
        ("{{or .Empty .Zero .Name}}", "web"),
        ("{{and .True .Zero .Name}}", "0"),
        ("{{or .Empty .Zero}}", "0"),
        ("{{not .Empty}} {{not .Name}}", "true false"),
    ]);
}

#[test]
fn ranges() {
    check(&[
        ("{{range .List}}[{{.}}]{{end}}", "[a][b][c]"),
        ("{{range .EmptyList}}x{{else}}empty{{end}}", "empty"),
        ("{{range .Missing}}x{{else}}none{{end}}", "none"),
        ("{{range .Nil}}x{{end}}", ""),
        ("{{range .Labels}}{{.}}{{end}}", "amz"),
        (
            "{{range .Ports}}{{.Host}}/{{.Proto}} {{end}}",
            "8080/tcp 53/udp ",
        ),
        (
            "{{range .List}}{{if eq . \"b\"}}{{break}}{{end}}{{.}}{{end}}",
            "a",
        ),
        (
            "{{range .List}}{{if eq . \"b\"}}{{continue}}{{end}}{{.}}{{end}}",
            "ac",
        ),
        ("{{range .Count}}{{.}}{{end}}", "012"),
        (
            "{{range 1000000000000}}{{if eq . 2}}{{break}}{{end}}{{.}}{{end}}",
            "01",
        ),
        (
            "{{range $i, $p := .Ports}}{{if $i}},{{end}}{{$p.Host}}{{end}}",
            "8080,53",
        ),
        (
            "{{range .List}}{{range $.Nums}}{{.}}{{end}}{{end}}",
            "312312312",
        ),
    ]);
}

#[test]
fn comments_and_trim_markers() {
    check(&[
        ("a{{/* comment */}}b", "ab"),
        ("a {{- /* comment */ -}} b", "ab"),
        ("a  {{- .Name -}}  b", "awebb"),
        ("a \n\t{{- .Name}} b", "aweb b"),
        ("a {{.Name -}} \n b", "a webb"),
        ("{{- .Name -}}", "web"),
        ("{{-3}}", "-3"),
        ("x{{/*\nmulti\nline\n*/}}y", "xy"),
        ("{{range .List -}}\n  {{.}}\n{{- end}}", "abc"),
    ]);
}

#[test]
fn literals() {
    check(&[
        ("{{\"quoted\\t\\\"str\\\"\"}}", "quoted\t\"str\""),
        ("{{`raw \\n string`}}", "raw \\n string"),
        (
            "{{42}} {{-7}} {{+3}} {{0x1F}} {{0o17}} {{0b101}} {{1_000}}",
            "42 -7 3 31 15 5 1000",
        ),
        ("{{1.5}} {{1e3}} {{.5}}", "1.5 1000 0.5"),
        ("{{'a'}} {{'\\n'}}", "97 10"),
        ("{{true}} {{false}}", "true false"),
        ("{{\"\\u00e9\\x41\"}}", "éA"),
        ("{{print nil}}", "<nil>"),
    ]);
}

#[test]
fn pipelines_and_parens() {
    check(&[
        ("{{.Name | printf \"%s!\"}}", "web!"),
        ("{{.Name | upper | printf \"<%s>\"}}", "<WEB>"),
        ("{{printf \"%s-%d\" .Name .Count}}", "web-3"),
        ("{{(printf \"%s\" .Name) | len}}", "3"),
        ("{{len (index .List 1)}}", "1"),
        ("{{(index .Nested \"Inner\").Value}}", "deep"),
        ("{{.Count | eq 3}}", "true"),
        ("{{split \"a,b\" \",\" | len}}", "2"),
        ("{{\",\" | split \"a,b\" | len}}", "2"),
    ]);
}

#[test]
fn builtin_functions() {
    check(&[
        (
            "{{len .List}} {{len .Name}} {{len .Labels}} {{len .Unicode}}",
            "3 3 3 13",
        ),
        ("{{index .List 2}}", "c"),
        ("{{index .Labels \"mid\"}}", "m"),
        ("{{index .Labels \"nope\"}}", "<no value>"),
        ("{{index .Ports 1 \"Proto\"}}", "udp"),
        ("{{index .Name 0}}", "119"),
        (
            "{{slice .Name 1}} {{slice .Name 0 2}} {{slice .List 1 3}}",
            "eb we [b c]",
        ),
        ("{{slice .List}}", "[a b c]"),
        (
            "{{eq .Name \"web\"}} {{eq .Name \"x\" \"web\"}} {{eq .Count 3}}",
            "true true true",
        ),
        ("{{ne .Name \"web\"}} {{ne .Count 4}}", "false true"),
        ("{{eq .Nil nil}} {{eq .Name nil}}", "true false"),
        (
            "{{lt 1 2}} {{le 2 2}} {{gt 1 2}} {{ge 3 2}}",
            "true true false true",
        ),
        ("{{lt \"a\" \"b\"}} {{gt .Ratio 1}}", "true true"),
        ("{{print \"a\" \"b\" 1 2 \"c\"}}", "ab1 2c"),
        ("{{println \"a\" 1}}", "a 1\n"),
        (
            "{{printf \"%-6s|%5.2f|%q|%t|%x|%v\" .Name .Ratio .Name .True 255 .List}}",
            "web   | 1.50|\"web\"|true|ff|[a b c]",
        ),
        ("{{printf \"%d\" .Name}}", "%!d(string=web)"),
        ("{{printf \"%s %s\" .Name}}", "web %!s(MISSING)"),
        ("{{printf \"%s\" .Nil}}", "%!s(<nil>)"),
        (
            "{{html .HTML}}",
            "&lt;a href=&#34;x&#34;&gt;&amp;&lt;/a&gt;",
        ),
        ("{{urlquery \"a b&c\"}}", "a+b%26c"),
        ("{{js \"it's <x>\"}}", "it\\'s \\u003Cx\\u003E"),
    ]);
}

#[test]
fn docker_functions() {
    check(&[
        ("{{json .Name}}", "\"web\""),
        ("{{json .List}}", "[\"a\",\"b\",\"c\"]"),
        ("{{json .Nested}}", "{\"Inner\":{\"Value\":\"deep\"}}"),
        ("{{json .Nil}} {{json .Missing}}", "null null"),
        ("{{json .HTML}}", "\"<a href=\\\"x\\\">&</a>\""),
        ("{{json .Count}} {{json .Ratio}}", "3 1.5"),
        ("{{json \"\u{2028}\"}}", "\"\\u2028\""),
        ("{{join .List \", \"}}", "a, b, c"),
        ("{{join .Nums \"+\"}}", "3+1+2"),
        ("{{join (split \"a:b:c\" \":\") \"/\"}}", "a/b/c"),
        ("{{split \"a,b,,c\" \",\"}}", "[a b  c]"),
        ("{{split \"abc\" \"\"}}", "[a b c]"),
        ("{{len (split \"\" \",\")}}", "1"),
        ("{{lower \"HeLLo\"}} {{upper .Name}}", "hello WEB"),
        (
            "{{title \"hello wide-world foo_bar\"}}",
            "Hello Wide-World Foo_bar",
        ),
        ("{{truncate .ID 12}}", "0123456789ab"),
        ("{{truncate .Name 10}}", "web"),
        ("{{truncate .Unicode 2}}", "hé"),
        ("{{pad .Name 2 3}}|", "  web   |"),
        ("{{pad .Empty 2 3}}|", "|"),
        ("{{len (pad .Name 1 1)}}", "5"),
    ]);
}

#[test]
fn parse_errors() {
    check_err(&[
        ("{{foo}}", "template: :1: function \"foo\" not defined"),
        (
            "{{.Name | foo}}",
            "template: :1: function \"foo\" not defined",
        ),
        ("{{.Name", "template: :1: unclosed action"),
        ("a\nb\n{{.Name", "template: :3: unclosed action"),
        ("{{if .Name}}", "template: :1: unexpected EOF"),
        ("{{end}}", "template: :1: unexpected {{end}}"),
        ("{{else}}", "template: :1: unexpected {{else}}"),
        ("{{$x}}", "template: :1: undefined variable \"$x\""),
        ("{{$x = 1}}", "template: :1: undefined variable \"$x\""),
        ("{{}}", "template: :1: missing value for command"),
        ("{{break}}", "template: :1: {{break}} outside {{range}}"),
        ("{{/* x }}", "template: :1: unclosed comment"),
        (
            "{{/* x */ .Name}}",
            "template: :1: comment ends before closing delimiter",
        ),
        ("{{\"abc}}", "template: :1: unterminated quoted string"),
        ("{{(.Name}}", "template: :1: unclosed left paren"),
        ("{{.Name)}}", "template: :1: unexpected right paren"),
        (
            "{{@}}",
            "template: :1: unrecognized character in action: U+0040 '@'",
        ),
        ("{{1a}}", "template: :1: bad number syntax: \"1a\""),
        (
            "{{.Name | \"x\"}}",
            "template: :1: non executable command in pipeline stage 2",
        ),
        ("{{if}}{{end}}", "template: :1: missing value for if"),
        (
            "{{range .List}}{{else}}{{else}}{{end}}",
            "template: :1: expected end; found {{else}}",
        ),
        (
            "{{template \"x\"}}",
            "template: :1: {{template}} is not supported in --format templates",
        ),
    ]);
}

#[test]
fn exec_errors() {
    check_err(&[
        (
            "{{.Name.Foo}}",
            "template: :1:2: executing \"\" at <.Name.Foo>: can't evaluate field Foo in type string",
        ),
        (
            "{{.Nil.Foo}}",
            "template: :1:2: executing \"\" at <.Nil.Foo>: nil pointer evaluating interface {}.Foo",
        ),
        (
            "ab\n  {{index .List 5}}",
            "template: :2:4: executing \"\" at <index>: error calling index: index out of range: 5",
        ),
        (
            "{{len .Count}}",
            "template: :1:2: executing \"\" at <len>: error calling len: len of type int",
        ),
        (
            "{{upper .Count}}",
            "template: :1:2: executing \"\" at <upper>: wrong type for value; expected string; got int",
        ),
        (
            "{{join .List}}",
            "template: :1:2: executing \"\" at <join>: wrong number of args for join: want 2 got 1",
        ),
        (
            "{{eq .List 1}}",
            "template: :1:2: executing \"\" at <eq>: error calling eq: non-comparable type []interface {}",
        ),
        (
            "{{eq .Name 1}}",
            "template: :1:2: executing \"\" at <eq>: error calling eq: incompatible types for comparison",
        ),
        (
            "{{range .Name}}{{end}}",
            "template: :1:8: executing \"\" at <.Name>: range can't iterate over web",
        ),
        ("{{nil}}", "template: :1:2: executing \"\" at <nil>: nil is not a command"),
        (
            "{{.Name 1}}",
            "template: :1:2: executing \"\" at <.Name>: Name is not a method but has arguments",
        ),
        (
            "{{\"x\" 1}}",
            "template: :1:2: executing \"\" at <\"x\">: can't give argument to non-function \"x\"",
        ),
        (
            "{{truncate .Name -1}}",
            "template: :1:2: executing \"\" at <truncate>: error calling truncate: runtime error: slice bounds out of range [:-1]",
        ),
    ]);
}

#[test]
fn errors_are_one_line() {
    for src in [
        "{{.Name\n",
        "{{\"a\nb\"}}",
        "{{index .List\n 9}}",
        "{{if}}\n{{end}}",
    ] {
        let e = render(src).expect_err(src);
        assert!(!e.to_string().contains('\n'), "{src:?}: {e}");
    }
}

#[test]
fn template_is_reusable() {
    let t = Template::parse("{{.A}}-{{len .B}}").unwrap();
    assert_eq!(t.render(&json!({"A": 1, "B": [1]})).unwrap(), "1-1");
    assert_eq!(t.render(&json!({"A": "x", "B": "yy"})).unwrap(), "x-2");
}

/// A small xorshift generator: deterministic, no extra dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn random_and_mutated_templates_never_panic() {
    let seeds = [
        "{{.Name}}",
        "{{range $i, $e := .List}}{{$i}}{{$e}}{{else}}x{{end}}",
        "{{if and .True (eq .Count 3)}}{{printf \"%5.2f|%-3s\" .Ratio .Name}}{{else if .Zero}}z{{end}}",
        "{{with $x := index .Ports 0}}{{$x.Host | printf \"%d\"}}{{end}}",
        "{{- /* c */ -}} {{json .}} {{join (split .ID \"a\") \",\"}}",
        "{{slice .List 1 2}}{{truncate .Unicode 3}}{{pad .Name 1 2}}{{title .Name}}",
        "{{range .Labels}}{{if eq . \"m\"}}{{break}}{{end}}{{continue}}{{end}}",
        "{{$a := 1}}{{$a = (len .List)}}{{lt $a 5}}{{html .HTML}}{{urlquery .Name}}",
        "table {{.Name}}\t{{.ID}}\\t{{`raw`}}{{'c'}}{{0x1F}}{{1e3}}",
    ];
    let pieces = [
        "{{",
        "}}",
        "{{-",
        "-}}",
        " ",
        ".",
        ".Name",
        ".List",
        "$",
        "$x",
        ":=",
        "=",
        "|",
        "(",
        ")",
        "\"",
        "`",
        "'",
        ",",
        "if",
        "else",
        "end",
        "range",
        "with",
        "break",
        "continue",
        "nil",
        "index",
        "slice",
        "printf",
        "%",
        "%d",
        "%!",
        "json",
        "len",
        "and",
        "or",
        "eq",
        "lt",
        "0",
        "-1",
        "99999999999999999999",
        "1e400",
        "0x",
        "/*",
        "*/",
        "\\",
        "\n",
        "\t",
        "é",
        "名",
        "\u{0}",
        "pad",
        "truncate",
        "split",
        "join",
        "$.",
        "..",
        "((",
        "))",
        "{{{{",
    ];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let data = data();
    let mut parsed = 0;
    for i in 0..4000 {
        let mut s: Vec<char> = seeds[i % seeds.len()].chars().collect();
        let edits = 1 + rng.below(6);
        for _ in 0..edits {
            match rng.below(4) {
                0 if !s.is_empty() => {
                    let at = rng.below(s.len());
                    s.remove(at);
                }
                1 => {
                    let at = rng.below(s.len() + 1);
                    let piece = pieces[rng.below(pieces.len())];
                    for (k, c) in piece.chars().enumerate() {
                        s.insert(at + k, c);
                    }
                }
                2 if !s.is_empty() => {
                    let a = rng.below(s.len());
                    let b = rng.below(s.len());
                    s.swap(a, b);
                }
                _ => {
                    // Entirely random string built from pieces.
                    s.clear();
                    for _ in 0..rng.below(12) {
                        s.extend(pieces[rng.below(pieces.len())].chars());
                    }
                }
            }
        }
        let src: String = s.into_iter().collect();
        if let Ok(t) = Template::parse(&src) {
            parsed += 1;
            if let Err(e) = t.render(&data) {
                assert!(!e.to_string().contains('\n'), "{src:?}: {e}");
            }
        }
        let _ = berth_template::Format::parse(Some(&src), "table {{.Name}}")
            .and_then(|f| f.render(std::slice::from_ref(&data), &json!({"Name": "NAME"})));
    }
    // The mutations must not be so destructive that nothing parses.
    assert!(parsed > 200, "only {parsed} templates parsed");
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let src = format!("{{{{{}.Name{}}}}}", "(".repeat(5000), ")".repeat(5000));
    assert!(Template::parse(&src).is_err());
    let src = "{{if 1}}".repeat(5000);
    assert!(Template::parse(&src).is_err());
}
