import Link from "@docusaurus/Link";
import useDocusaurusContext from "@docusaurus/useDocusaurusContext";
import Heading from "@theme/Heading";
import Layout from "@theme/Layout";

const FEATURES = [
  {
    title: "Least privilege by design",
    body: "Every write is a CALL of a stored procedure and every read a plain SELECT. The " +
      "application's account needs SELECT on one table and EXECUTE on nine procedures: no " +
      "INSERT, UPDATE, DELETE or DDL.",
  },
  {
    title: "A surface a DBA can review",
    body: "The table and the nine procedures are plain, commented .sql files. Print them, " +
      "review them, apply them by hand; the store only checks they are there.",
  },
  {
    title: "A drop-in for connect-session-knex",
    body: "The same option names (and v5's camelCase aliases) and the same table layout. " +
      "Point it at your existing sessions table; the migration guide covers v1 to v5 and " +
      "express-mysql-session.",
  },
];

export default function Home() {
  const { siteConfig } = useDocusaurusContext();
  return (
    <Layout title="Home" description={siteConfig.tagline}>
      <header className="hero hero--primary hero--kms">
        <div className="container">
          <Heading as="h1" className="hero__title">{siteConfig.title}</Heading>
          <p className="hero__subtitle">{siteConfig.tagline}</p>
          <code className="install-line">
            npm install knex-mysql-session knex express-session
          </code>
          <div className="buttons">
            <Link
              className="button button--secondary button--lg"
              to="/docs/getting-started"
            >
              Get started
            </Link>
            <Link
              className="button button--outline button--secondary button--lg"
              to="/docs/intro"
            >
              Why stored procedures?
            </Link>
            <Link
              className="button button--outline button--secondary button--lg"
              to="/docs/migrating/connect-session-knex"
            >
              Migrate from connect-session-knex
            </Link>
          </div>
        </div>
      </header>
      <main className="container features">
        <div className="row">
          {FEATURES.map((feature) => (
            <div key={feature.title} className="col col--4">
              <Heading as="h3">{feature.title}</Heading>
              <p>{feature.body}</p>
            </div>
          ))}
        </div>
      </main>
    </Layout>
  );
}
