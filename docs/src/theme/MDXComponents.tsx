import MDXComponents from "@theme-original/MDXComponents";
import BenchmarkChart from "../components/BenchmarkChart.tsx";
import DocLink from "../components/DocLink.tsx";

// Components every page may use without importing them.
export default { ...MDXComponents, BenchmarkChart, DocLink };
