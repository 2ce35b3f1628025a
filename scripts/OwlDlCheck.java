// OWL 2 DL check of the ontology, alone or with data: the OWL API's OWL 2 DL profile check, then HermiT's
// consistency check. Run with the jar owlready2 ships (HermiT 1.3.8 with the OWL API 3.4.3 inside), as a
// single-file program, no separate javac step:
//
//   java -cp .venv/lib/python3.*/site-packages/owlready2/hermit/HermiT.jar scripts/OwlDlCheck.java \
//        [--profile-only] ontology/*.ttl [--then dist/asserted.nt [--then dist/inferred.nt]]
//
// The files (Turtle or N-Triples) are read as one document, so declarations in one file type the triples
// of the others; `--then FILES` checks again with those files added (one JVM for several checks). Prints
// one line per profile violation and per triple the OWL API could not read as OWL (it would drop it
// silently), then a `result:` line per check; exit 0 only when no check has either and (unless
// --profile-only) HermiT finds every one consistent.
//
// Dates: HermiT supports exactly the OWL 2 datatype map, which has xsd:dateTime but not xsd:date,
// xsd:gYearMonth or xsd:gYear (OWL 2 leaves them out). For the consistency check only, each literal of
// those three types is first checked against its own lexical space (an invalid one is reported and fails
// the check) and then replaced by the xsd:dateTime at which it starts ("2015-06" -> "2015-06-01T00:00:00");
// a range or restriction naming one of them names xsd:dateTime instead. This keeps every date and its
// order, and loses only the distinction between the three types, which the SHACL shapes check exactly
// (sh:datatype). The profile check sees the original literals.

import java.io.File;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.HashSet;
import javax.xml.datatype.DatatypeConstants;
import javax.xml.datatype.DatatypeFactory;
import javax.xml.datatype.XMLGregorianCalendar;
import javax.xml.namespace.QName;

import org.semanticweb.HermiT.Configuration;
import org.semanticweb.HermiT.Reasoner;
import org.semanticweb.owlapi.apibinding.OWLManager;
import org.semanticweb.owlapi.io.RDFOntologyFormat;
import org.semanticweb.owlapi.io.RDFTriple;
import org.semanticweb.owlapi.io.StringDocumentSource;
import org.semanticweb.owlapi.model.IRI;
import org.semanticweb.owlapi.model.OWLAxiom;
import org.semanticweb.owlapi.model.OWLDataFactory;
import org.semanticweb.owlapi.model.OWLLiteral;
import org.semanticweb.owlapi.model.OWLOntology;
import org.semanticweb.owlapi.model.OWLOntologyManager;
import org.semanticweb.owlapi.profiles.OWL2DLProfile;
import org.semanticweb.owlapi.profiles.OWLProfileViolation;
import org.semanticweb.owlapi.util.OWLObjectDuplicator;

public class OwlDlCheck {
    static final String XSD = "http://www.w3.org/2001/XMLSchema#";
    static final Map<String, QName> SUBSTITUTED = Map.of(
        XSD + "date", DatatypeConstants.DATE,
        XSD + "gYearMonth", DatatypeConstants.GYEARMONTH,
        XSD + "gYear", DatatypeConstants.GYEAR);

    public static void main(String[] args) throws Exception {
        boolean reason = true;
        List<List<String>> stages = new ArrayList<>(List.of(new ArrayList<>()));
        for (String arg : args) {
            if (arg.equals("--profile-only")) {
                reason = false;
            } else if (arg.equals("--then")) {
                stages.add(new ArrayList<>(stages.get(stages.size() - 1)));
            } else {
                stages.get(stages.size() - 1).add(arg);
            }
        }
        boolean ok = true;
        for (List<String> files : stages) {
            ok &= check(files, reason);
        }
        System.exit(ok ? 0 : 1);
    }

    /** Checks the files as one document; prints the violations and a `result:` line. */
    static boolean check(List<String> files, boolean reason) throws Exception {
        StringBuilder document = new StringBuilder();
        for (String file : files) {
            document.append(Files.readString(new File(file).toPath())).append('\n');
        }
        OWLOntologyManager manager = OWLManager.createOWLOntologyManager();
        OWLOntology ontology = manager.loadOntologyFromOntologyDocument(new StringDocumentSource(document.toString()));

        // Triples the OWL API could not map to OWL (it drops them, and the profile check never sees them).
        Set<RDFTriple> unparsed = ((RDFOntologyFormat) manager.getOntologyFormat(ontology))
            .getOntologyLoaderMetaData().getUnparsedTriples();
        for (RDFTriple triple : unparsed) {
            System.out.println("unparsed: " + triple);
        }
        List<OWLProfileViolation> violations = new OWL2DLProfile().checkOntology(ontology).getViolations();
        Map<String, Integer> byKind = new TreeMap<>();
        for (OWLProfileViolation v : violations) {
            System.out.println("violation: " + v.toString().replace('\n', ' '));
            byKind.merge(v.getClass().getSimpleName(), 1, Integer::sum);
        }
        String result = String.format("result: files=%s axioms=%d unparsed=%d violations=%d %s", String.join(",", files),
                                      ontology.getAxiomCount(), unparsed.size(), violations.size(),
                                      byKind.toString().replace(" ", ""));
        boolean ok = violations.isEmpty() && unparsed.isEmpty();
        if (reason) {
            ok &= consistent(manager, ontology);
            result += consistency;
        }
        System.out.println(result);
        return ok;
    }

    static String consistency = "";

    static boolean consistent(OWLOntologyManager manager, OWLOntology ontology) throws Exception {
        DateSubstitution substitution = new DateSubstitution(manager.getOWLDataFactory());
        Set<OWLAxiom> axioms = new HashSet<>();
        for (OWLAxiom axiom : ontology.getLogicalAxioms()) {
            axioms.add(substitution.duplicateObject(axiom));
        }
        for (OWLAxiom axiom : ontology.getAxioms(org.semanticweb.owlapi.model.AxiomType.DECLARATION)) {
            axioms.add(substitution.duplicateObject(axiom));
        }
        for (String bad : substitution.invalid) {
            System.out.println("invalid literal: " + bad);
        }
        if (!substitution.invalid.isEmpty()) {
            consistency = String.format(" hermit=not-run consistent=unknown invalid=%d", substitution.invalid.size());
            return false;
        }
        OWLOntology substituted = manager.createOntology(axioms);
        long start = System.nanoTime();
        Configuration configuration = new Configuration();  // unsupported datatypes are errors, not ignored
        boolean consistent = new Reasoner(configuration, substituted).isConsistent();
        consistency = String.format(" hermit=%s consistent=%s seconds=%.1f dates=%d invalid=0",
            Reasoner.class.getPackage().getImplementationVersion(), consistent, (System.nanoTime() - start) / 1e9,
            substitution.count);
        return consistent;
    }

    /** Copies axioms with xsd:date, xsd:gYearMonth and xsd:gYear replaced by xsd:dateTime (see the header). */
    static class DateSubstitution extends OWLObjectDuplicator {
        final OWLDataFactory factory;
        final DatatypeFactory calendars;
        final List<String> invalid = new ArrayList<>();
        int count = 0;

        DateSubstitution(OWLDataFactory factory) throws Exception {
            super(factory, Map.of(IRI.create(XSD + "date"), IRI.create(XSD + "dateTime"),
                                  IRI.create(XSD + "gYearMonth"), IRI.create(XSD + "dateTime"),
                                  IRI.create(XSD + "gYear"), IRI.create(XSD + "dateTime")));
            this.factory = factory;
            this.calendars = DatatypeFactory.newInstance();
        }

        @Override
        public void visit(OWLLiteral literal) {
            QName type = SUBSTITUTED.get(literal.getDatatype().getIRI().toString());
            if (type == null) {
                super.visit(literal);
                return;
            }
            String lexical = literal.getLiteral();
            XMLGregorianCalendar value;
            try {
                value = calendars.newXMLGregorianCalendar(lexical);
            } catch (IllegalArgumentException e) {
                value = null;
            }
            if (value == null || !value.getXMLSchemaType().equals(type)) {
                invalid.add(literal.toString());
                setLastObject(literal);  // kept as it is; the check fails before HermiT sees it
                return;
            }
            if (value.getMonth() == DatatypeConstants.FIELD_UNDEFINED) value.setMonth(1);
            if (value.getDay() == DatatypeConstants.FIELD_UNDEFINED) value.setDay(1);
            value.setTime(0, 0, 0);
            count++;
            setLastObject(factory.getOWLLiteral(value.toXMLFormat(), factory.getOWLDatatype(IRI.create(XSD + "dateTime"))));
        }
    }
}
