// A page's facts as a definition list: one `data-fact` per item, so tests and styles find each.
import type { ComponentChild } from 'preact';

export type Fact = [key: string, label: string, value: ComponentChild];

export function FactList({ items }: { items: Fact[] }) {
  return (
    <dl class="facts">
      {items.map(([key, label, value]) => (
        <div key={key} class="fact" data-fact={key}>
          <dt>{label}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}
