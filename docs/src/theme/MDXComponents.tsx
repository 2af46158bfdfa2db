import MDXComponents from "@theme-original/MDXComponents";
import DocLink from "../components/DocLink.tsx";

// Components every page may use without importing them.
export default { ...MDXComponents, DocLink };
